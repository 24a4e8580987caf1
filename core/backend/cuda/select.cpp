#include "core/backend/select.h"

#include "core/cuda/runtime.h"
#include "core/dispatch.h"
#include "kernels/cpu/convert.h"
#include "kernels/cuda/select.h"

namespace kiln::backend {
namespace {

using kernels::StridedLayout;

void where(std::string_view op, const Tensor& condition, const StridedLayout& condition_layout,
           const Tensor& a, const StridedLayout& a_layout, const Tensor& b,
           const StridedLayout& b_layout, const Tensor& out) {
  visit_cuda_float(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    visit_mask(condition.dtype(), op, "condition", [&](auto mask_tag) {
      using M = decltype(mask_tag);
      kernels::cuda::where(condition.data<M>(), condition_layout, a.data<T>(), a_layout,
                           b.data<T>(), b_layout, out.data<T>(), out.numel(),
                           cuda::launch_stream(a.device().index));
    });
  });
}

void masked_fill(std::string_view op, const Tensor& x, const Tensor& mask,
                 const StridedLayout& mask_layout, double value, const Tensor& out) {
  visit_cuda_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    visit_mask(mask.dtype(), op, "mask", [&](auto mask_tag) {
      using M = decltype(mask_tag);
      kernels::cuda::masked_fill(x.data<T>(), x.layout(), mask.data<M>(), mask_layout,
                                 kernels::cpu::convert<T>(value), out.data<T>(), out.numel(),
                                 cuda::launch_stream(x.device().index));
    });
  });
}

void where_backward(std::string_view op, const Tensor& mask, const StridedLayout& mask_layout,
                    const Tensor& grad, const Tensor& grad_true, const Tensor& grad_false) {
  visit_cuda_float(grad.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    visit_mask(mask.dtype(), op, "mask", [&](auto mask_tag) {
      using M = decltype(mask_tag);
      kernels::cuda::where_backward(mask.data<M>(), mask_layout, grad.data<T>(),
                                    data_or_null<T>(grad_true), data_or_null<T>(grad_false),
                                    grad.numel(), cuda::launch_stream(grad.device().index));
    });
  });
}

constexpr SelectBackend kTable{where, masked_fill, where_backward};

}  // namespace

const SelectBackend& SelectBackend::cuda() {
  return kTable;
}

}  // namespace kiln::backend
