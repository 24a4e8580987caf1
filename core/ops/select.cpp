#include "core/ops/select.h"

#include <string_view>

#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/ops/common.h"
#include "core/ops/reduce.h"
#include "kernels/select.h"

#ifdef KILN_CUDA
#include "core/cuda/runtime.h"
#include "kernels/cpu/convert.h"
#include "kernels/cuda/select.h"
#endif

namespace kiln {
namespace {

// Masks: bool, or u8 as loaded from files (non-zero is true).
template <typename F>
void visit_mask(DType dtype, std::string_view op, std::string_view what, F&& f) {
  switch (dtype) {
    case DType::boolean:
      return f(bool{});
    case DType::u8:
      return f(uint8_t{});
    default:
      fail(op, "{} has dtype {}, expected bool or u8", what, dtype_name(dtype));
  }
}

// The output's contiguous gradient `g` split by `mask` (broadcast to `shape`): the part where
// the mask is set into `grad_true`, the rest into `grad_false`; each is made only when wanted.
void split_gradient(std::string_view op, const Tensor& mask, const Shape& shape, const Tensor& g,
                    bool want_true, bool want_false, Tensor& grad_true, Tensor& grad_false) {
  const Tensor packed = g.contiguous();
  const TensorOptions options{g.dtype(), g.device()};
  if (want_true) grad_true = empty(shape, options);
  if (want_false) grad_false = empty(shape, options);
  if (g.device().is_cuda()) {
#ifdef KILN_CUDA
    visit_cuda_float(g.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      visit_mask(mask.dtype(), op, "mask", [&](auto mask_tag) {
        using M = decltype(mask_tag);
        kernels::cuda::where_backward(mask.data<M>(), broadcast_layout(mask, shape),
                                      packed.data<T>(), want_true ? grad_true.data<T>() : nullptr,
                                      want_false ? grad_false.data<T>() : nullptr, packed.numel(),
                                      cuda::launch_stream(g.device().index));
      });
    });
#endif
    return;
  }
  visit_float(g.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    visit_mask(mask.dtype(), op, "mask", [&](auto mask_tag) {
      using M = decltype(mask_tag);
      kernels::cpu::where_backward(mask.data<M>(), broadcast_layout(mask, shape), packed.data<T>(),
                                   want_true ? grad_true.data<T>() : nullptr,
                                   want_false ? grad_false.data<T>() : nullptr, packed.numel());
    });
  });
}

}  // namespace

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  check_same_device("where", {condition, a, b});
  check_same_dtype("where", "b", b, a);
  const Shape shape =
      broadcast_shapes(broadcast_shapes(condition.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = empty(shape, TensorOptions{a.dtype(), a.device()});
  if (a.device().is_cuda()) {
#ifdef KILN_CUDA
    visit_cuda_float(a.dtype(), "where", [&](auto tag) {
      using T = decltype(tag);
      visit_mask(condition.dtype(), "where", "condition", [&](auto mask_tag) {
        using M = decltype(mask_tag);
        kernels::cuda::where(condition.data<M>(), broadcast_layout(condition, shape),
                             a.data<T>(), broadcast_layout(a, shape), b.data<T>(),
                             broadcast_layout(b, shape), out.data<T>(), out.numel(),
                             cuda::launch_stream(a.device().index));
      });
    });
#endif
  } else {
    visit_float(a.dtype(), "where", [&](auto tag) {
      using T = decltype(tag);
      visit_mask(condition.dtype(), "where", "condition", [&](auto mask_tag) {
        using M = decltype(mask_tag);
        kernels::cpu::where(condition.data<M>(), broadcast_layout(condition, shape), a.data<T>(),
                            broadcast_layout(a, shape), b.data<T>(), broadcast_layout(b, shape),
                            out.data<T>(), out.numel());
      });
    });
  }
  record("where", out, {condition, a, b},
         [condition, a_shape = a.shape(), b_shape = b.shape(), shape](
             const Tensor& g, const std::vector<bool>& needs) -> std::vector<Tensor> {
           Tensor grad_a, grad_b;
           split_gradient("where", condition, shape, g, needs[1], needs[2], grad_a, grad_b);
           return {Tensor(), needs[1] ? sum_to(grad_a, a_shape) : Tensor(),
                   needs[2] ? sum_to(grad_b, b_shape) : Tensor()};
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
  if (x.device().is_cuda()) {
#ifdef KILN_CUDA
    visit_cuda_float(x.dtype(), "masked_fill", [&](auto tag) {
      using T = decltype(tag);
      visit_mask(mask.dtype(), "masked_fill", "mask", [&](auto mask_tag) {
        using M = decltype(mask_tag);
        kernels::cuda::masked_fill(x.data<T>(), x.layout(), mask.data<M>(),
                                   broadcast_layout(mask, shape), kernels::cpu::convert<T>(value),
                                   out.data<T>(), out.numel(), cuda::launch_stream(x.device().index));
      });
    });
#endif
  } else {
    visit_float(x.dtype(), "masked_fill", [&](auto tag) {
      using T = decltype(tag);
      visit_mask(mask.dtype(), "masked_fill", "mask", [&](auto mask_tag) {
        using M = decltype(mask_tag);
        kernels::cpu::masked_fill(x.data<T>(), x.layout(), mask.data<M>(),
                                  broadcast_layout(mask, shape), static_cast<T>(value),
                                  out.data<T>(), out.numel());
      });
    });
  }
  record("masked_fill", out, {x, mask},
         [mask, shape](const Tensor& g, const std::vector<bool>&) -> std::vector<Tensor> {
           Tensor unused, grad_x;
           split_gradient("masked_fill", mask, shape, g, false, true, unused, grad_x);
           return {grad_x, Tensor()};
         });
  return out;
}

}  // namespace kiln
