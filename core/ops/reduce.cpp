#include "core/ops/reduce.h"

#include <string_view>
#include <utility>

#include "core/autograd.h"
#include "core/backend/on_device.h"
#include "core/backend/reduce.h"
#include "core/ops/common.h"
#include "core/ops/elementwise.h"

namespace kiln {
namespace {

using backend::ReduceBackend;

// Which dims of an input a reduction folds, and the shapes of its result.
struct ReducePlan {
  std::vector<bool> reduced;  // one entry per input dim
  Shape kept_shape;           // the result without the reduced dims
  Shape keepdim_shape;        // the result with the reduced dims kept as 1
  int64_t count = 1;          // elements per reduced group
};

ReducePlan plan_reduction(const Shape& shape, const std::vector<int64_t>& dims,
                          std::string_view op) {
  const auto ndim = static_cast<int64_t>(shape.size());
  ReducePlan plan;
  plan.reduced.assign(shape.size(), dims.empty());
  for (const int64_t d : dims) {
    // A 0-dim tensor accepts dim 0 / -1, as in PyTorch; there is nothing to fold.
    const int64_t wrapped = wrap_dim(d, std::max<int64_t>(ndim, 1), op);
    if (ndim == 0) continue;
    KILN_CHECK(!plan.reduced[static_cast<size_t>(wrapped)], op,
               "dim {} appears more than once in dims {} (input shape {})", d, shape_str(dims),
               shape_str(shape));
    plan.reduced[static_cast<size_t>(wrapped)] = true;
  }
  for (size_t d = 0; d < shape.size(); ++d) {
    if (plan.reduced[d]) {
      plan.keepdim_shape.push_back(1);
      plan.count *= shape[d];
    } else {
      plan.kept_shape.push_back(shape[d]);
      plan.keepdim_shape.push_back(shape[d]);
    }
  }
  return plan;
}

// The kept and the reduced dims of a view as the two layouts the reduce kernels read.
struct SplitLayouts {
  kernels::StridedLayout outer;
  kernels::StridedLayout reduced;
};

SplitLayouts split_layouts(const Shape& shape, const Shape& strides,
                           const std::vector<bool>& reduced) {
  Shape outer_shape, outer_strides, reduced_shape, reduced_strides;
  for (size_t d = 0; d < shape.size(); ++d) {
    (reduced[d] ? reduced_shape : outer_shape).push_back(shape[d]);
    (reduced[d] ? reduced_strides : outer_strides).push_back(strides[d]);
  }
  return {strided_layout(outer_shape, outer_strides),
          strided_layout(reduced_shape, reduced_strides)};
}

Tensor sum_kernel(const Tensor& x, const std::vector<bool>& reduced, const Shape& out_shape,
                  double scale, std::string_view op) {
  Tensor out = empty(out_shape, TensorOptions{x.dtype(), x.device()});
  const SplitLayouts layouts = split_layouts(x.shape(), x.strides(), reduced);
  on_device(op, x.device(), &ReduceBackend::sum, x, layouts.outer, layouts.reduced, out, scale);
  return out;
}

// The gradient of a sum: `g`, read as `keepdim_shape` (same numel), broadcast to `shape`.
Tensor broadcast_back(const Tensor& g, const Shape& keepdim_shape, const Shape& shape) {
  const Tensor packed = g.contiguous();
  Shape strides = contiguous_strides(keepdim_shape);
  for (size_t d = 0; d < strides.size(); ++d)
    if (keepdim_shape[d] == 1) strides[d] = 0;
  const Tensor expanded = Tensor::make_view(packed, shape, strides, packed.offset());
  Tensor out = empty(shape, TensorOptions{g.dtype(), g.device()});
  copy_(out, expanded);
  return out;
}

// Runs the max kernel; `values` may be undefined when only the indices are wanted.
void max_kernel(const Tensor& x, const std::vector<bool>& reduced, const Tensor& values,
                const Tensor& index, std::string_view op) {
  const SplitLayouts layouts = split_layouts(x.shape(), x.strides(), reduced);
  on_device(op, x.device(), &ReduceBackend::max, x, layouts.outer, layouts.reduced, values, index);
}

// The gradient of max: g scattered to the positions the forward chose, zeros elsewhere.
std::vector<Tensor> max_backward(const Tensor& index, const std::vector<bool>& reduced,
                                 const Shape& shape, const Tensor& grad) {
  const Tensor grad_in = zeros(shape, TensorOptions{grad.dtype(), grad.device()});
  const SplitLayouts layouts = split_layouts(shape, contiguous_strides(shape), reduced);
  on_device("max", grad.device(), &ReduceBackend::max_backward, grad.contiguous(), index,
            layouts.outer, layouts.reduced, grad_in);
  return {grad_in};
}

void check_nonempty_groups(const Tensor& x, const ReducePlan& plan, std::string_view op) {
  KILN_CHECK(plan.count > 0 || shape_numel(plan.kept_shape) == 0, op,
             "cannot reduce over a dim of size 0 (input shape {})", shape_str(x.shape()));
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  const ReducePlan plan = plan_reduction(x.shape(), dims, "sum");
  Tensor out =
      sum_kernel(x, plan.reduced, keepdim ? plan.keepdim_shape : plan.kept_shape, 1.0, "sum");
  record("sum", out, {x},
         [keep = plan.keepdim_shape, shape = x.shape()](const Tensor& g, const std::vector<bool>&)
             -> std::vector<Tensor> { return {broadcast_back(g, keep, shape)}; });
  return out;
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  const ReducePlan plan = plan_reduction(x.shape(), dims, "mean");
  // An empty group gives 0 * inf = NaN, as the mean of nothing should.
  const double scale = 1.0 / static_cast<double>(plan.count);
  Tensor out =
      sum_kernel(x, plan.reduced, keepdim ? plan.keepdim_shape : plan.kept_shape, scale, "mean");
  record("mean", out, {x},
         [keep = plan.keepdim_shape, shape = x.shape(), scale](
             const Tensor& g, const std::vector<bool>&) -> std::vector<Tensor> {
           return {broadcast_back(mul(g, scale), keep, shape)};
         });
  return out;
}

Tensor max(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  const ReducePlan plan = plan_reduction(x.shape(), dims, "max");
  check_nonempty_groups(x, plan, "max");
  const Shape& out_shape = keepdim ? plan.keepdim_shape : plan.kept_shape;
  Tensor out = empty(out_shape, TensorOptions{x.dtype(), x.device()});
  const Tensor index = empty(out_shape, TensorOptions{DType::i64, x.device()});
  max_kernel(x, plan.reduced, out, index, "max");
  record("max", out, {x},
         [index, reduced = plan.reduced, shape = x.shape()](const Tensor& g,
                                                            const std::vector<bool>&) {
           return max_backward(index, reduced, shape, g);
         });
  return out;
}

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  const ReducePlan plan = plan_reduction(x.shape(), {dim}, "argmax");
  check_nonempty_groups(x, plan, "argmax");
  Tensor index =
      empty(keepdim ? plan.keepdim_shape : plan.kept_shape, TensorOptions{DType::i64, x.device()});
  max_kernel(x, plan.reduced, Tensor(), index, "argmax");
  return index;
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  const Shape& from = x.shape();
  if (from == shape) return x;
  KILN_CHECK(shape.size() <= from.size(), "sum_to",
             "cannot sum {} down to {}: the target has more dims", shape_str(from),
             shape_str(shape));
  const size_t lead = from.size() - shape.size();
  std::vector<bool> reduced(from.size(), true);
  Shape keepdim_shape(lead, 1);
  for (size_t d = lead; d < from.size(); ++d) {
    const int64_t target = shape[d - lead];
    KILN_CHECK(target == from[d] || target == 1, "sum_to",
               "cannot sum {} down to {} (dim {}: {} vs {})", shape_str(from), shape_str(shape), d,
               from[d], target);
    reduced[d] = target != from[d];
    keepdim_shape.push_back(target);
  }
  Tensor out = sum_kernel(x, reduced, shape, 1.0, "sum_to");
  record("sum_to", out, {x},
         [keepdim_shape, from](const Tensor& g, const std::vector<bool>&) -> std::vector<Tensor> {
           return {broadcast_back(g, keepdim_shape, from)};
         });
  return out;
}

}  // namespace kiln
