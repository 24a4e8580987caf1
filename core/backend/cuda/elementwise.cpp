#include "core/backend/elementwise.h"

#include "core/cuda/runtime.h"
#include "core/dispatch.h"
#include "kernels/cuda/elementwise.h"

namespace kiln::backend {
namespace {

using kernels::StridedLayout;

void unary(std::string_view op, kernels::UnaryOp kind, const Tensor& x, const Tensor& out) {
  visit_cuda_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cuda::unary(kind, x.data<T>(), x.layout(), out.data<T>(), x.numel(),
                         cuda::launch_stream(x.device().index));
  });
}

void unary_backward(std::string_view op, kernels::UnaryOp kind, const Tensor& x, const Tensor& out,
                    const Tensor& grad, const Tensor& dx) {
  visit_cuda_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cuda::unary_backward(kind, x.data<T>(), out.data<T>(), grad.data<T>(), dx.data<T>(),
                                  x.numel(), cuda::launch_stream(x.device().index));
  });
}

void binary(std::string_view op, kernels::BinaryOp kind, const Tensor& a,
            const StridedLayout& a_layout, const Tensor& b, const StridedLayout& b_layout,
            const Tensor& out) {
  visit_cuda_arithmetic(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cuda::binary(kind, a.data<T>(), a_layout, b.data<T>(), b_layout, out.data<T>(),
                          out.numel(), cuda::launch_stream(a.device().index));
  });
}

void compare(std::string_view op, kernels::CompareOp kind, const Tensor& a,
             const StridedLayout& a_layout, const Tensor& b, const StridedLayout& b_layout,
             const Tensor& out) {
  visit_cuda_arithmetic(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cuda::compare(kind, a.data<T>(), a_layout, b.data<T>(), b_layout, out.data<bool>(),
                           out.numel(), cuda::launch_stream(a.device().index));
  });
}

constexpr ElementwiseBackend kTable{unary, unary_backward, binary, compare};

}  // namespace

const ElementwiseBackend& ElementwiseBackend::cuda() {
  return kTable;
}

}  // namespace kiln::backend
