#include "core/backend/softmax.h"

#include "core/cuda/runtime.h"
#include "core/dispatch.h"
#include "kernels/cuda/softmax.h"

namespace kiln::backend {
namespace {

void forward(std::string_view op, const Tensor& x, const Tensor& y, int64_t rows, int64_t cols,
             bool causal, int64_t tq, bool log) {
  const cudaStream_t stream = cuda::launch_stream(x.device().index);
  visit_cuda_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (log)
      kernels::cuda::log_softmax_forward(x.data<T>(), y.data<T>(), rows, cols, causal, tq, stream);
    else
      kernels::cuda::softmax_forward(x.data<T>(), y.data<T>(), rows, cols, causal, tq, stream);
  });
}

void backward(std::string_view op, const Tensor& y, const Tensor& grad, const Tensor& dx,
              int64_t rows, int64_t cols, bool causal, int64_t tq, bool log) {
  const cudaStream_t stream = cuda::launch_stream(y.device().index);
  visit_cuda_float(y.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (log) {
      kernels::cuda::log_softmax_backward(y.data<T>(), grad.data<T>(), dx.data<T>(), rows, cols,
                                          causal, tq, stream);
    } else {
      kernels::cuda::softmax_backward(y.data<T>(), grad.data<T>(), dx.data<T>(), rows, cols, causal,
                                      tq, stream);
    }
  });
}

constexpr SoftmaxBackend kTable{forward, backward};

}  // namespace

const SoftmaxBackend& SoftmaxBackend::cuda() {
  return kTable;
}

}  // namespace kiln::backend
