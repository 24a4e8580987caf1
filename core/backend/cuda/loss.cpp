#include "core/backend/loss.h"

#include "core/cuda/runtime.h"
#include "core/dispatch.h"
#include "kernels/cuda/loss.h"

namespace kiln::backend {
namespace {

Tensor cross_entropy_forward(std::string_view op, const Tensor& logits, const Tensor& targets,
                             int64_t ignore_index, bool want_grad, CrossEntropyState& state) {
  const Device device = logits.device();
  const TensorOptions f32{DType::f32, device};
  const int64_t rows = targets.numel();
  state.lse = empty({rows}, f32);
  state.count = empty({}, f32);
  const Tensor row_loss = empty({rows}, f32);
  Tensor loss = empty({}, f32);
  state.dlogits =
      want_grad ? empty(logits.shape(), TensorOptions{logits.dtype(), device}) : Tensor();
  const cudaStream_t stream = cuda::launch_stream(device.index);
  visit_index(targets.dtype(), op, [&](auto index_tag) {
    using I = decltype(index_tag);
    visit_cuda_float(logits.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      kernels::cuda::cross_entropy_forward(
          logits.data<T>(), targets.data<I>(), rows, logits.size(-1), ignore_index,
          state.lse.data<float>(), state.count.data<float>(), row_loss.data<float>(),
          loss.data<float>(), data_or_null<T>(state.dlogits), stream);
    });
  });
  return loss;
}

void cross_entropy_backward(std::string_view op, const Tensor& logits, const Tensor& targets,
                            int64_t ignore_index, const CrossEntropyState& state, double scale,
                            const Tensor& dlogits) {
  const cudaStream_t stream = cuda::launch_stream(logits.device().index);
  visit_index(targets.dtype(), op, [&](auto index_tag) {
    using I = decltype(index_tag);
    visit_cuda_float(logits.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      kernels::cuda::cross_entropy_backward(
          logits.data<T>(), targets.data<I>(), state.lse.data<float>(), state.count.data<float>(),
          scale, targets.numel(), logits.size(-1), ignore_index, dlogits.data<T>(), stream);
    });
  });
}

constexpr LossBackend kTable{cross_entropy_forward, cross_entropy_backward};

}  // namespace

const LossBackend& LossBackend::cuda() {
  return kTable;
}

}  // namespace kiln::backend
