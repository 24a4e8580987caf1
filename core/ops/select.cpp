#include "core/ops/select.h"

#include <string_view>

#include "core/autograd.h"
#include "core/backend/on_device.h"
#include "core/backend/select.h"
#include "core/ops/common.h"
#include "core/ops/reduce.h"

namespace kiln {
namespace {

using backend::SelectBackend;

// The output's gradient `g` split by `mask` (broadcast to `shape`): the part where the mask is
// set into `grad_true`, the rest into `grad_false`; each is made only when wanted.
void split_gradient(std::string_view op, const Tensor& mask, const Shape& shape, const Tensor& g,
                    bool want_true, bool want_false, Tensor& grad_true, Tensor& grad_false) {
  const TensorOptions options{g.dtype(), g.device()};
  if (want_true) grad_true = empty(shape, options);
  if (want_false) grad_false = empty(shape, options);
  on_device(op, g.device(), &SelectBackend::where_backward, mask, broadcast_layout(mask, shape),
            g.contiguous(), grad_true, grad_false);
}

std::vector<Tensor> where_backward(const Tensor& condition, const Shape& a_shape,
                                   const Shape& b_shape, const Shape& shape, const Tensor& grad,
                                   const std::vector<bool>& needs) {
  Tensor grad_a, grad_b;
  split_gradient("where", condition, shape, grad, needs[1], needs[2], grad_a, grad_b);
  return {Tensor(), needs[1] ? sum_to(grad_a, a_shape) : Tensor(),
          needs[2] ? sum_to(grad_b, b_shape) : Tensor()};
}

std::vector<Tensor> masked_fill_backward(const Tensor& mask, const Shape& shape,
                                         const Tensor& grad) {
  Tensor unused, grad_x;
  split_gradient("masked_fill", mask, shape, grad, false, true, unused, grad_x);
  return {grad_x, Tensor()};
}

}  // namespace

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  check_same_device("where", {condition, a, b});
  check_same_dtype("where", "b", b, a);
  const Shape shape =
      broadcast_shapes(broadcast_shapes(condition.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = empty(shape, TensorOptions{a.dtype(), a.device()});
  on_device("where", a.device(), &SelectBackend::where, condition,
            broadcast_layout(condition, shape), a, broadcast_layout(a, shape), b,
            broadcast_layout(b, shape), out);
  record("where", out, {condition, a, b},
         [condition, a_shape = a.shape(), b_shape = b.shape(), shape](
             const Tensor& g, const std::vector<bool>& needs) {
           return where_backward(condition, a_shape, b_shape, shape, g, needs);
         });
  return out;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  check_same_device("masked_fill", {x, mask});
  const Shape shape = broadcast_shapes(mask.shape(), x.shape(), "masked_fill");
  KILN_CHECK(shape == x.shape(), "masked_fill",
             "mask of shape {} does not broadcast to the input's shape {}", shape_str(mask.shape()),
             shape_str(x.shape()));
  Tensor out = empty(shape, TensorOptions{x.dtype(), x.device()});
  on_device("masked_fill", x.device(), &SelectBackend::masked_fill, x, mask,
            broadcast_layout(mask, shape), value, out);
  record("masked_fill", out, {x, mask}, [mask, shape](const Tensor& g, const std::vector<bool>&) {
    return masked_fill_backward(mask, shape, g);
  });
  return out;
}

}  // namespace kiln
