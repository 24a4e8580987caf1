#include "core/backend/select.h"

#include "core/dispatch.h"
#include "kernels/select.h"

namespace kiln::backend {
namespace {

using kernels::StridedLayout;

void where(std::string_view op, const Tensor& condition, const StridedLayout& condition_layout,
           const Tensor& a, const StridedLayout& a_layout, const Tensor& b,
           const StridedLayout& b_layout, const Tensor& out) {
  visit_float(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    visit_mask(condition.dtype(), op, "condition", [&](auto mask_tag) {
      using M = decltype(mask_tag);
      kernels::cpu::where(condition.data<M>(), condition_layout, a.data<T>(), a_layout, b.data<T>(),
                          b_layout, out.data<T>(), out.numel());
    });
  });
}

void masked_fill(std::string_view op, const Tensor& x, const Tensor& mask,
                 const StridedLayout& mask_layout, double value, const Tensor& out) {
  visit_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    visit_mask(mask.dtype(), op, "mask", [&](auto mask_tag) {
      using M = decltype(mask_tag);
      kernels::cpu::masked_fill(x.data<T>(), x.layout(), mask.data<M>(), mask_layout,
                                static_cast<T>(value), out.data<T>(), out.numel());
    });
  });
}

void where_backward(std::string_view op, const Tensor& mask, const StridedLayout& mask_layout,
                    const Tensor& grad, const Tensor& grad_true, const Tensor& grad_false) {
  visit_float(grad.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    visit_mask(mask.dtype(), op, "mask", [&](auto mask_tag) {
      using M = decltype(mask_tag);
      kernels::cpu::where_backward(mask.data<M>(), mask_layout, grad.data<T>(),
                                   data_or_null<T>(grad_true), data_or_null<T>(grad_false),
                                   grad.numel());
    });
  });
}

constexpr SelectBackend kTable{where, masked_fill, where_backward};

}  // namespace

const SelectBackend& SelectBackend::cpu() {
  return kTable;
}

}  // namespace kiln::backend
