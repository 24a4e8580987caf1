#include "core/backend/elementwise.h"

#include "core/dispatch.h"

namespace kiln::backend {
namespace {

using kernels::StridedLayout;

void unary(std::string_view op, kernels::UnaryOp kind, const Tensor& x, const Tensor& out) {
  visit_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::unary(kind, x.data<T>(), x.layout(), out.data<T>(), x.numel());
  });
}

void unary_backward(std::string_view op, kernels::UnaryOp kind, const Tensor& x, const Tensor& out,
                    const Tensor& grad, const Tensor& dx) {
  visit_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::unary_backward(kind, x.data<T>(), out.data<T>(), grad.data<T>(), dx.data<T>(),
                                 x.numel());
  });
}

void binary(std::string_view op, kernels::BinaryOp kind, const Tensor& a,
            const StridedLayout& a_layout, const Tensor& b, const StridedLayout& b_layout,
            const Tensor& out) {
  visit_arithmetic(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::binary(kind, a.data<T>(), a_layout, b.data<T>(), b_layout, out.data<T>(),
                         out.numel());
  });
}

void compare(std::string_view op, kernels::CompareOp kind, const Tensor& a,
             const StridedLayout& a_layout, const Tensor& b, const StridedLayout& b_layout,
             const Tensor& out) {
  visit_arithmetic(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::compare(kind, a.data<T>(), a_layout, b.data<T>(), b_layout, out.data<bool>(),
                          out.numel());
  });
}

constexpr ElementwiseBackend kTable{unary, unary_backward, binary, compare};

}  // namespace

const ElementwiseBackend& ElementwiseBackend::cpu() {
  return kTable;
}

}  // namespace kiln::backend
