#include "core/ops/shape.h"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/autograd.h"
#include "core/ops/common.h"
#include "core/ops/reduce.h"

namespace kiln {
namespace {

// Replaces a -1 in `shape` by the size that makes it hold `numel` elements, and checks that it
// does.
Shape infer_shape(std::string_view op, const Shape& shape, const Tensor& x) {
  Shape out = shape;
  std::optional<size_t> inferred;
  int64_t known = 1;
  for (size_t d = 0; d < out.size(); ++d) {
    if (out[d] == -1) {
      KILN_CHECK(!inferred, op, "shape {} has more than one -1", shape_str(shape));
      inferred = d;
      continue;
    }
    KILN_CHECK(out[d] >= 0, op, "shape {} has a negative size", shape_str(shape));
    known *= out[d];
  }
  const int64_t numel = x.numel();
  if (inferred) {
    KILN_CHECK(known != 0, op,
               "cannot infer the -1 in shape {} for a tensor of shape {}: the other sizes "
               "multiply to 0",
               shape_str(shape), shape_str(x.shape()));
    KILN_CHECK(numel % known == 0, op, "shape {} is invalid for a tensor of shape {} ({} elements)",
               shape_str(shape), shape_str(x.shape()), numel);
    out[*inferred] = numel / known;
  } else {
    KILN_CHECK(known == numel, op, "shape {} is invalid for a tensor of shape {} ({} elements)",
               shape_str(shape), shape_str(x.shape()), numel);
  }
  return out;
}

// The strides that show a tensor of (old_shape, old_strides) as new_shape without moving data,
// or nothing when its elements are not laid out that way (PyTorch's computeStride). Dims are
// grouped into chunks that are contiguous with respect to each other; every chunk must be made
// of whole dims of the new shape.
std::optional<Shape> view_strides(const Shape& old_shape, const Shape& old_strides,
                                  const Shape& new_shape) {
  Shape new_strides(new_shape.size(), 1);
  if (old_shape.empty()) return new_strides;
  const int64_t numel = shape_numel(old_shape);
  if (numel == 0) {
    if (old_shape == new_shape) return old_strides;
    return contiguous_strides(new_shape);
  }
  auto view_d = static_cast<int64_t>(new_shape.size()) - 1;
  int64_t chunk_base_stride = old_strides.back();
  int64_t tensor_numel = 1;
  int64_t view_numel = 1;
  for (auto tensor_d = static_cast<int64_t>(old_shape.size()) - 1; tensor_d >= 0; --tensor_d) {
    tensor_numel *= old_shape[static_cast<size_t>(tensor_d)];
    const bool chunk_ends = tensor_d == 0 || (old_shape[static_cast<size_t>(tensor_d - 1)] != 1 &&
                                              old_strides[static_cast<size_t>(tensor_d - 1)] !=
                                                  tensor_numel * chunk_base_stride);
    if (!chunk_ends) continue;
    while (view_d >= 0 &&
           (view_numel < tensor_numel || new_shape[static_cast<size_t>(view_d)] == 1)) {
      new_strides[static_cast<size_t>(view_d)] = view_numel * chunk_base_stride;
      view_numel *= new_shape[static_cast<size_t>(view_d)];
      --view_d;
    }
    if (view_numel != tensor_numel) return std::nullopt;
    if (tensor_d > 0) {
      chunk_base_stride = old_strides[static_cast<size_t>(tensor_d - 1)];
      tensor_numel = 1;
      view_numel = 1;
    }
  }
  if (view_d != -1) return std::nullopt;
  return new_strides;
}

// A view of `x` whose gradient is the output's gradient reshaped back to x's shape.
Tensor reshaping_view(std::string_view op, const Tensor& x, Shape shape, Shape strides) {
  Tensor out = Tensor::make_view(x, std::move(shape), std::move(strides), x.offset());
  record(
      std::string(op), out, {x},
      [input_shape = x.shape()](const Tensor& g, const std::vector<bool>&) -> std::vector<Tensor> {
        return {reshape(g, input_shape)};
      });
  return out;
}

// Python's clamping of a slice bound into [0, size].
int64_t clamp_bound(int64_t bound, int64_t size) {
  if (bound < 0) bound += size;
  return std::clamp<int64_t>(bound, 0, size);
}

// The view of `x` holding elements start, start + step, ... (`count` of them) along `dim`; no
// autograd.
Tensor strided_piece(const Tensor& x, int64_t dim, int64_t start, int64_t count, int64_t step) {
  Shape shape = x.shape();
  Shape strides = x.strides();
  const auto d = static_cast<size_t>(dim);
  const int64_t offset = x.offset() + (count > 0 ? start * strides[d] : 0);
  shape[d] = count;
  strides[d] *= step;
  return Tensor::make_view(x, std::move(shape), std::move(strides), offset);
}

}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) {
  const Shape target = infer_shape("reshape", shape, x);
  if (const auto strides = view_strides(x.shape(), x.strides(), target))
    return reshaping_view("reshape", x, target, *strides);
  // A copy: contiguous() records its own backward, so the gradient flows through both.
  const Tensor packed = x.contiguous();
  return reshaping_view("reshape", packed, target, contiguous_strides(target));
}

Tensor view(const Tensor& x, const Shape& shape) {
  const Shape target = infer_shape("view", shape, x);
  const auto strides = view_strides(x.shape(), x.strides(), target);
  KILN_CHECK(strides.has_value(), "view",
             "cannot view a tensor of shape {} with strides {} as shape {}: its elements are not "
             "laid out that way in memory; call reshape or contiguous() first",
             shape_str(x.shape()), shape_str(x.strides()), shape_str(target));
  return reshaping_view("view", x, target, *strides);
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  if (x.dim() == 0) {
    wrap_dim(start_dim, 1, "flatten");
    wrap_dim(end_dim, 1, "flatten");
    return reshape(x, {1});
  }
  const int64_t start = wrap_dim(start_dim, x.dim(), "flatten");
  const int64_t end = wrap_dim(end_dim, x.dim(), "flatten");
  KILN_CHECK(start <= end, "flatten", "start_dim {} comes after end_dim {} (tensor of shape {})",
             start_dim, end_dim, shape_str(x.shape()));
  Shape shape(x.shape().begin(), x.shape().begin() + start);
  int64_t merged = 1;
  for (int64_t d = start; d <= end; ++d) merged *= x.shape()[static_cast<size_t>(d)];
  shape.push_back(merged);
  shape.insert(shape.end(), x.shape().begin() + end + 1, x.shape().end());
  return reshape(x, shape);
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  const auto d0 = static_cast<size_t>(wrap_dim(dim0, x.dim(), "transpose"));
  const auto d1 = static_cast<size_t>(wrap_dim(dim1, x.dim(), "transpose"));
  Shape shape = x.shape();
  Shape strides = x.strides();
  std::swap(shape[d0], shape[d1]);
  std::swap(strides[d0], strides[d1]);
  Tensor out = Tensor::make_view(x, std::move(shape), std::move(strides), x.offset());
  record("transpose", out, {x},
         [dim0, dim1](const Tensor& g, const std::vector<bool>&) -> std::vector<Tensor> {
           return {transpose(g, dim0, dim1)};
         });
  return out;
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  KILN_CHECK(static_cast<int64_t>(dims.size()) == x.dim(), "permute",
             "dims {} name {} dims, the tensor of shape {} has {}", shape_str(dims), dims.size(),
             shape_str(x.shape()), x.dim());
  std::vector<int64_t> inverse(dims.size(), -1);
  Shape shape(dims.size());
  Shape strides(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    const auto d = static_cast<size_t>(wrap_dim(dims[i], x.dim(), "permute"));
    KILN_CHECK(inverse[d] == -1, "permute", "dims {} repeat dim {}", shape_str(dims), d);
    inverse[d] = static_cast<int64_t>(i);
    shape[i] = x.shape()[d];
    strides[i] = x.strides()[d];
  }
  Tensor out = Tensor::make_view(x, std::move(shape), std::move(strides), x.offset());
  record("permute", out, {x},
         [inverse](const Tensor& g, const std::vector<bool>&) -> std::vector<Tensor> {
           return {permute(g, inverse)};
         });
  return out;
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  const int64_t d = wrap_dim(dim, x.dim(), "slice");
  KILN_CHECK(step > 0, "slice", "step must be positive, got {}", step);
  const int64_t size = x.shape()[static_cast<size_t>(d)];
  const int64_t first = clamp_bound(start, size);
  const int64_t last = std::max(clamp_bound(end, size), first);
  const int64_t count = (last - first + step - 1) / step;
  Tensor out = strided_piece(x, d, first, count, step);
  record("slice", out, {x},
         [input_shape = x.shape(), dtype = x.dtype(), device = x.device(), d, first, count, step](
             const Tensor& g, const std::vector<bool>&) -> std::vector<Tensor> {
           const Tensor grad = zeros(input_shape, TensorOptions{dtype, device});
           copy_(strided_piece(grad, d, first, count, step), g);
           return {grad};
         });
  return out;
}

Tensor expand(const Tensor& x, const Shape& shape) {
  KILN_CHECK(shape.size() >= x.shape().size(), "expand",
             "target shape {} has fewer dims than the tensor's shape {}", shape_str(shape),
             shape_str(x.shape()));
  const size_t lead = shape.size() - x.shape().size();
  Shape out_shape(shape.size());
  Shape out_strides(shape.size(), 0);
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i < lead) {
      KILN_CHECK(shape[i] >= 0, "expand",
                 "target shape {} has size {} at new leading dim {}; only existing dims may be -1",
                 shape_str(shape), shape[i], i);
      out_shape[i] = shape[i];
      continue;
    }
    const int64_t have = x.shape()[i - lead];
    const int64_t want = shape[i] == -1 ? have : shape[i];
    KILN_CHECK(want == have || have == 1, "expand",
               "cannot expand shape {} to {}: dim {} has size {}, only size-1 dims expand",
               shape_str(x.shape()), shape_str(shape), i, have);
    KILN_CHECK(want >= 0, "expand", "target shape {} has a negative size", shape_str(shape));
    out_shape[i] = want;
    out_strides[i] = want == have ? x.strides()[i - lead] : 0;
  }
  Tensor out = Tensor::make_view(x, std::move(out_shape), std::move(out_strides), x.offset());
  record(
      "expand", out, {x},
      [input_shape = x.shape()](const Tensor& g, const std::vector<bool>&) -> std::vector<Tensor> {
        return {sum_to(g, input_shape)};
      });
  return out;
}

Tensor squeeze(const Tensor& x, int64_t dim) {
  // A 0-d tensor accepts dim 0 or -1, as in PyTorch.
  const int64_t d = wrap_dim(dim, std::max<int64_t>(x.dim(), 1), "squeeze");
  Shape shape = x.shape();
  Shape strides = x.strides();
  // Squeezing a dim whose size is not 1 leaves the tensor as it is, as in PyTorch.
  if (x.dim() > 0 && shape[static_cast<size_t>(d)] == 1) {
    shape.erase(shape.begin() + d);
    strides.erase(strides.begin() + d);
  }
  return reshaping_view("squeeze", x, std::move(shape), std::move(strides));
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  const int64_t d = wrap_dim(dim, x.dim() + 1, "unsqueeze");
  Shape shape = x.shape();
  Shape strides = x.strides();
  // Any stride works for a size-1 dim; this one keeps a contiguous tensor contiguous.
  const int64_t stride =
      d < x.dim() ? strides[static_cast<size_t>(d)] * shape[static_cast<size_t>(d)] : 1;
  shape.insert(shape.begin() + d, 1);
  strides.insert(strides.begin() + d, stride);
  return reshaping_view("unsqueeze", x, std::move(shape), std::move(strides));
}

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  KILN_CHECK(!tensors.empty(), "cat", "needs at least one tensor");
  for (const Tensor& t : tensors) KILN_CHECK(t.defined(), "cat", "an input tensor is undefined");
  const Tensor& first = tensors.front();
  const int64_t d = wrap_dim(dim, first.dim(), "cat");
  check_same_device("cat", tensors);
  Shape shape = first.shape();
  shape[static_cast<size_t>(d)] = 0;
  std::vector<int64_t> sizes;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    check_same_dtype("cat", fmt::format("tensor {}", i), t, first);
    bool compatible = t.dim() == first.dim();
    for (int64_t k = 0; compatible && k < t.dim(); ++k)
      compatible =
          k == d || t.shape()[static_cast<size_t>(k)] == first.shape()[static_cast<size_t>(k)];
    KILN_CHECK(compatible, "cat",
               "tensor {} has shape {}, expected {} with any size at dim {} (as tensor 0)", i,
               shape_str(t.shape()), shape_str(first.shape()), d);
    sizes.push_back(t.shape()[static_cast<size_t>(d)]);
    shape[static_cast<size_t>(d)] += sizes.back();
  }
  Tensor out = empty(shape, TensorOptions{first.dtype(), first.device()});
  int64_t start = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    copy_(strided_piece(out, d, start, sizes[i], 1), tensors[i]);
    start += sizes[i];
  }
  record("cat", out, tensors,
         [d, sizes](const Tensor& g, const std::vector<bool>& needs) -> std::vector<Tensor> {
           std::vector<Tensor> grads(sizes.size());
           int64_t begin = 0;
           for (size_t i = 0; i < sizes.size(); ++i) {
             if (needs[i]) grads[i] = slice(g, d, begin, begin + sizes[i]);
             begin += sizes[i];
           }
           return grads;
         });
  return out;
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  const int64_t d = wrap_dim(dim, x.dim(), "split");
  const int64_t size = x.shape()[static_cast<size_t>(d)];
  KILN_CHECK(split_size > 0 || (split_size == 0 && size == 0), "split",
             "split_size must be positive, got {} (dim {} of shape {})", split_size, dim,
             shape_str(x.shape()));
  std::vector<int64_t> sizes;
  for (int64_t start = 0; start < size; start += split_size)
    sizes.push_back(std::min(split_size, size - start));
  // An empty dim still gives one (empty) piece, as in PyTorch.
  if (sizes.empty()) sizes.push_back(0);
  return split(x, sizes, d);
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  const int64_t d = wrap_dim(dim, x.dim(), "split");
  const int64_t size = x.shape()[static_cast<size_t>(d)];
  int64_t total = 0;
  for (const int64_t s : sizes) {
    KILN_CHECK(s >= 0, "split", "sizes {} has a negative size", shape_str(sizes));
    total += s;
  }
  KILN_CHECK(total == size, "split", "sizes {} add up to {}, but dim {} of shape {} has size {}",
             shape_str(sizes), total, dim, shape_str(x.shape()), size);
  std::vector<Tensor> pieces;
  int64_t start = 0;
  for (const int64_t s : sizes) {
    pieces.push_back(slice(x, d, start, start + s));
    start += s;
  }
  return pieces;
}

}  // namespace kiln
