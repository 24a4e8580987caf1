#include "core/backend/norm.h"

#include "core/cuda/runtime.h"
#include "core/dispatch.h"
#include "kernels/cuda/norm.h"

namespace kiln::backend {
namespace {

// The f32 scratch through which the backward reduces the weight/bias gradients.
Tensor norm_workspace(int64_t rows, int64_t cols, int parameter_grads, Device device) {
  const int64_t n = kernels::cuda::norm_backward_workspace(rows, cols, parameter_grads);
  return n > 0 ? empty({n}, TensorOptions{DType::f32, device}) : Tensor();
}

void layer_norm_forward(std::string_view op, const Tensor& x, const Tensor& weight,
                        const Tensor& bias, const Tensor& y, const Tensor& mean, const Tensor& rstd,
                        int64_t rows, int64_t cols, double eps) {
  visit_cuda_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cuda::layer_norm_forward(x.data<T>(), data_or_null<T>(weight), data_or_null<T>(bias),
                                      y.data<T>(), mean.data<float>(), rstd.data<float>(), rows,
                                      cols, eps, cuda::launch_stream(x.device().index));
  });
}

void layer_norm_backward(std::string_view op, const Tensor& x, const Tensor& weight,
                         const Tensor& mean, const Tensor& rstd, const Tensor& grad,
                         const Tensor& dx, const Tensor& dweight, const Tensor& dbias, int64_t rows,
                         int64_t cols) {
  const cudaStream_t stream = cuda::launch_stream(x.device().index);
  const Tensor workspace = norm_workspace(
      rows, cols, static_cast<int>(dweight.defined()) + static_cast<int>(dbias.defined()),
      x.device());
  visit_cuda_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cuda::layer_norm_backward(x.data<T>(), data_or_null<T>(weight), mean.data<float>(),
                                       rstd.data<float>(), grad.data<T>(), data_or_null<T>(dx),
                                       data_or_null<T>(dweight), data_or_null<T>(dbias),
                                       data_or_null<float>(workspace), rows, cols, stream);
  });
}

void rms_norm_forward(std::string_view op, const Tensor& x, const Tensor& weight, const Tensor& y,
                      const Tensor& rstd, int64_t rows, int64_t cols, double eps) {
  visit_cuda_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cuda::rms_norm_forward(x.data<T>(), data_or_null<T>(weight), y.data<T>(),
                                    rstd.data<float>(), rows, cols, eps,
                                    cuda::launch_stream(x.device().index));
  });
}

void rms_norm_backward(std::string_view op, const Tensor& x, const Tensor& weight,
                       const Tensor& rstd, const Tensor& grad, const Tensor& dx,
                       const Tensor& dweight, int64_t rows, int64_t cols) {
  const cudaStream_t stream = cuda::launch_stream(x.device().index);
  const Tensor workspace =
      norm_workspace(rows, cols, static_cast<int>(dweight.defined()), x.device());
  visit_cuda_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cuda::rms_norm_backward(x.data<T>(), data_or_null<T>(weight), rstd.data<float>(),
                                     grad.data<T>(), data_or_null<T>(dx), data_or_null<T>(dweight),
                                     data_or_null<float>(workspace), rows, cols, stream);
  });
}

constexpr NormBackend kTable{layer_norm_forward, layer_norm_backward, rms_norm_forward,
                             rms_norm_backward};

}  // namespace

const NormBackend& NormBackend::cuda() {
  return kTable;
}

}  // namespace kiln::backend
