#include "core/backend/reduce.h"

#include "core/cuda/runtime.h"
#include "core/dispatch.h"
#include "kernels/cuda/reduce.h"

namespace kiln::backend {
namespace {

using kernels::StridedLayout;

void sum(std::string_view op, const Tensor& x, const StridedLayout& outer,
         const StridedLayout& reduced, const Tensor& out, double scale) {
  visit_cuda_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cuda::sum_reduce(x.data<T>(), outer, reduced, out.data<T>(), scale,
                              cuda::launch_stream(x.device().index));
  });
}

void max(std::string_view op, const Tensor& x, const StridedLayout& outer,
         const StridedLayout& reduced, const Tensor& values, const Tensor& index) {
  visit_cuda_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cuda::max_reduce(x.data<T>(), outer, reduced, data_or_null<T>(values),
                              index.data<int64_t>(), cuda::launch_stream(x.device().index));
  });
}

void max_backward(std::string_view op, const Tensor& grad_out, const Tensor& index,
                  const StridedLayout& outer, const StridedLayout& reduced, const Tensor& grad_in) {
  visit_cuda_float(grad_out.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cuda::max_reduce_backward(grad_out.data<T>(), index.data<int64_t>(), outer, reduced,
                                       grad_in.data<T>(),
                                       cuda::launch_stream(grad_out.device().index));
  });
}

constexpr ReduceBackend kTable{sum, max, max_backward};

}  // namespace

const ReduceBackend& ReduceBackend::cuda() {
  return kTable;
}

}  // namespace kiln::backend
