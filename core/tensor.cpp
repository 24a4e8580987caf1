#include "core/tensor.h"

#include <cmath>
#include <ostream>
#include <sstream>

#include "core/autograd.h"
#include "core/backend/copy.h"
#include "core/backend/on_device.h"
#include "core/dispatch.h"
#include "core/ops/reduce.h"
#include "core/ops/shape.h"
#include "kernels/copy.h"
#include "kernels/cpu/convert.h"

#ifdef KILN_CUDA
#include "core/cuda/runtime.h"
#endif

namespace kiln {

kernels::StridedLayout strided_layout(const Shape& shape, const Shape& strides) {
  kernels::StridedLayout layout;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;  // size-1 dims do not move the offset
    if (layout.ndim > 0 &&
        layout.strides[layout.ndim - 1] == strides[d] * shape[d]) {  // merges with the previous
      layout.shape[layout.ndim - 1] *= shape[d];
      layout.strides[layout.ndim - 1] = strides[d];
      continue;
    }
    KILN_CHECK(layout.ndim < kernels::kMaxDims, "layout",
               "view of shape {} with strides {} needs more than {} dims; call .contiguous()",
               shape_str(shape), shape_str(strides), kernels::kMaxDims);
    layout.shape[layout.ndim] = shape[d];
    layout.strides[layout.ndim] = strides[d];
    ++layout.ndim;
  }
  return layout;
}

Tensor Tensor::empty(const Shape& shape, TensorOptions options) {
  for (const int64_t s : shape)
    KILN_CHECK(s >= 0, "empty", "negative size in shape {}", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(
      static_cast<size_t>(shape_numel(shape)) * dtype_size(options.dtype), options.device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = options.dtype;
  Tensor t(std::move(impl));
  if (options.requires_grad) t.set_requires_grad(true);
  return t;
}

Tensor Tensor::make_view(const Tensor& base, Shape shape, Shape strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.storage();
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

int64_t Tensor::size(int64_t d) const { return shape()[wrap_dim(d, dim(), "size")]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (size_t d = shape().size(); d-- > 0;) {
    if (shape()[d] != 1 && strides()[d] != expected) return false;
    expected *= shape()[d];
  }
  return true;
}

void* Tensor::raw_data() const {
  return static_cast<char*>(storage()->data()) + offset() * static_cast<int64_t>(dtype_size(dtype()));
}

kernels::StridedLayout Tensor::layout() const { return strided_layout(shape(), strides()); }

Tensor& Tensor::set_requires_grad(bool requires_grad) {
  KILN_CHECK(!requires_grad || is_floating(dtype()), "requires_grad",
             "only floating tensors can require grad, this one has dtype {}", dtype_name(dtype()));
  KILN_CHECK(is_leaf(), "requires_grad",
             "requires_grad can only be changed on leaf tensors; use detach() first");
  impl().requires_grad = requires_grad;
  return *this;
}

Tensor Tensor::grad() const { return Tensor(impl().grad); }

void Tensor::set_grad(const Tensor& grad) const {
  KILN_CHECK(!grad.defined() || grad.shape() == shape(), "set_grad",
             "gradient has shape {}, expected {}", shape_str(grad.shape()), shape_str(shape()));
  impl().grad = grad.impl_shared();
}

void Tensor::backward() const {
  KILN_CHECK(numel() == 1, "backward",
             "backward() without a gradient needs a scalar output, got shape {}; pass a "
             "gradient of the output's shape",
             shape_str(shape()));
  run_backward(*this, ones(shape(), TensorOptions{dtype(), device()}));
}

void Tensor::backward(const Tensor& grad_output) const { run_backward(*this, grad_output); }

Tensor Tensor::detach() const { return make_view(*this, shape(), strides(), offset()); }

Tensor Tensor::to(Device target) const {
  if (device() == target) return *this;
  Tensor out = empty(shape(), TensorOptions{dtype(), target});
  copy_(out, *this);
  const Device source = device();
  record("to_device", out, {*this},
         [source](const Tensor& g, const std::vector<bool>&) -> std::vector<Tensor> {
           return {g.to(source)};
         });
  return out;
}

Tensor Tensor::to(DType target) const {
  if (dtype() == target) return *this;
  Tensor out = empty(shape(), TensorOptions{target, device()});
  copy_(out, *this);
  const DType source = dtype();
  // Integer results are not differentiable; record() only sees floating outputs.
  if (is_floating(target)) {
    record("to_dtype", out, {*this},
           [source](const Tensor& g, const std::vector<bool>&) -> std::vector<Tensor> {
             return {g.to(source)};
           });
  }
  return out;
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), TensorOptions{dtype(), device()});
  copy_(out, *this);
  record("clone", out, {*this},
         [](const Tensor& g, const std::vector<bool>&) -> std::vector<Tensor> { return {g}; });
  return out;
}

double Tensor::item() const {
  KILN_CHECK(numel() == 1, "item", "tensor has {} elements (shape {}), expected exactly one",
             numel(), shape_str(shape()));
  return to_vector<double>()[0];
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  std::vector<T> values(static_cast<size_t>(numel()));
  const Tensor host = detach().to(Device::cpu());
  visit_dtype(host.dtype(), [&](auto tag) {
    using Src = decltype(tag);
    kernels::cpu::copy_strided(host.data<Src>(), host.layout(), values.data(),
                               kernels::StridedLayout{}, numel());
  });
  return values;
}

template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int32_t> Tensor::to_vector<int32_t>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;
template std::vector<uint8_t> Tensor::to_vector<uint8_t>() const;

namespace {

// Prints nested brackets, eliding the middle of dims longer than 2 * kEdge when the tensor is big.
void print_values(std::ostream& os, const std::vector<double>& values, const Shape& shape,
                  size_t dim, int64_t base, bool summarise, bool integral) {
  constexpr int64_t kEdge = 3;
  const int64_t n = shape[dim];
  const int64_t inner = shape_numel(Shape(shape.begin() + static_cast<long>(dim) + 1, shape.end()));
  os << '[';
  for (int64_t i = 0; i < n; ++i) {
    if (summarise && n > 2 * kEdge && i == kEdge) {
      os << "..., ";
      i = n - kEdge;
    }
    if (dim + 1 == shape.size()) {
      const double v = values[static_cast<size_t>(base + i)];
      if (integral) os << fmt::format("{}", static_cast<int64_t>(v));
      else os << fmt::format("{:.4g}", v);
    } else {
      print_values(os, values, shape, dim + 1, base + i * inner, summarise, integral);
    }
    if (i + 1 < n) os << (dim + 1 == shape.size() ? ", " : ",\n ");
  }
  os << ']';
}

}  // namespace

std::string Tensor::to_string() const {
  if (!defined()) return "Tensor(undefined)";
  std::ostringstream os;
  os << "Tensor(shape=" << shape_str(shape()) << ", dtype=" << dtype_name(dtype())
     << ", device=" << device().str() << (requires_grad() ? ", requires_grad" : "") << ")\n";
  const std::vector<double> values = to_vector<double>();
  if (dim() == 0) {
    os << fmt::format("{:.6g}", values[0]);
  } else if (numel() > 0) {
    print_values(os, values, shape(), 0, 0, numel() > 1000, is_integral(dtype()));
  } else {
    os << "[]";
  }
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.to_string(); }

Tensor Tensor::reshape(const Shape& s) const { return kiln::reshape(*this, s); }
Tensor Tensor::view(const Shape& s) const { return kiln::view(*this, s); }
Tensor Tensor::transpose(int64_t d0, int64_t d1) const { return kiln::transpose(*this, d0, d1); }
Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
  return kiln::permute(*this, dims);
}
Tensor Tensor::sum(const std::vector<int64_t>& dims, bool keepdim) const {
  return kiln::sum(*this, dims, keepdim);
}
Tensor Tensor::mean(const std::vector<int64_t>& dims, bool keepdim) const {
  return kiln::mean(*this, dims, keepdim);
}

Tensor empty(const Shape& shape, TensorOptions options) { return Tensor::empty(shape, options); }

Tensor zeros(const Shape& shape, TensorOptions options) { return full(shape, 0.0, options); }

Tensor ones(const Shape& shape, TensorOptions options) { return full(shape, 1.0, options); }

Tensor full(const Shape& shape, double value, TensorOptions options) {
  const bool requires_grad = options.requires_grad;
  Tensor t = empty(shape, options.with_requires_grad(false));
  fill_(t, value);
  if (requires_grad) t.set_requires_grad(true);
  return t;
}

Tensor arange(double start, double end, double step, TensorOptions options) {
  KILN_CHECK(step != 0.0, "arange", "step must be non-zero");
  const double span = std::ceil((end - start) / step);
  const int64_t n = span > 0 ? static_cast<int64_t>(span) : 0;
  std::vector<double> values(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) values[static_cast<size_t>(i)] = start + static_cast<double>(i) * step;
  return from_vector(values, {n}).to(options.dtype).to(options.device);
}

template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, Device device) {
  KILN_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape), "from_vector",
             "{} values given for shape {} ({} elements)", values.size(), shape_str(shape),
             shape_numel(shape));
  Tensor t = empty(shape, TensorOptions{dtype_of<T>(), Device::cpu()});
  std::copy(values.begin(), values.end(), t.data<T>());
  return t.to(device);
}

template Tensor from_vector<float>(const std::vector<float>&, const Shape&, Device);
template Tensor from_vector<double>(const std::vector<double>&, const Shape&, Device);
template Tensor from_vector<int32_t>(const std::vector<int32_t>&, const Shape&, Device);
template Tensor from_vector<int64_t>(const std::vector<int64_t>&, const Shape&, Device);
template Tensor from_vector<uint8_t>(const std::vector<uint8_t>&, const Shape&, Device);

void fill_(const Tensor& t, double value) {
  on_device("fill", t.device(), &backend::CopyBackend::fill, t, value);
}

namespace {

void copy_same_device(const Tensor& dst, const Tensor& src) {
  on_device("copy", dst.device(), &backend::CopyBackend::copy, src, dst);
}

}  // namespace

void copy_(const Tensor& dst, const Tensor& src) {
  KILN_CHECK(dst.shape() == src.shape(), "copy", "source has shape {}, destination {}",
             shape_str(src.shape()), shape_str(dst.shape()));
  if (dst.device() == src.device()) {
    copy_same_device(dst, src);
    return;
  }
#ifdef KILN_CUDA
  // Across devices: make the source contiguous in the destination's dtype on its own device,
  // move the bytes, then lay them out in the destination.
  Tensor packed = empty(src.shape(), TensorOptions{dst.dtype(), src.device()});
  copy_same_device(packed, src);
  Tensor landed = dst.is_contiguous() ? dst : empty(dst.shape(), TensorOptions{dst.dtype(), dst.device()});
  const size_t nbytes = static_cast<size_t>(src.numel()) * dtype_size(dst.dtype());
  if (nbytes > 0) {
    if (src.device().is_cpu()) {
      cuda::copy(landed.raw_data(), packed.raw_data(), nbytes, cudaMemcpyHostToDevice,
                 dst.device().index);
    } else if (dst.device().is_cpu()) {
      cuda::copy(landed.raw_data(), packed.raw_data(), nbytes, cudaMemcpyDeviceToHost,
                 src.device().index);
    } else {
      cuda::copy(landed.raw_data(), packed.raw_data(), nbytes, cudaMemcpyDeviceToDevice,
                 dst.device().index);
    }
  }
  if (!landed.same(dst)) copy_same_device(dst, landed);
#else
  fail("copy", "cannot copy between {} and {} in a CPU-only build", src.device().str(),
       dst.device().str());
#endif
}

}  // namespace kiln
