#include "core/backend/dropout.h"

#include "core/cuda/runtime.h"
#include "core/dispatch.h"
#include "kernels/cuda/dropout.h"

namespace kiln::backend {
namespace {

void forward(std::string_view op, const Tensor& x, const Tensor& out, const Tensor& mask, double p,
             double scale, Generator& generator) {
  visit_cuda_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const uint64_t first = generator.advance(static_cast<uint64_t>(x.numel()));
    kernels::cuda::dropout_forward(x.data<T>(), x.layout(), out.data<T>(), mask.data<uint8_t>(),
                                   x.numel(), static_cast<float>(p), static_cast<float>(scale),
                                   generator.seed(), first, cuda::launch_stream(x.device().index));
  });
}

void backward(std::string_view op, const Tensor& grad, const Tensor& mask, const Tensor& grad_in,
              double scale) {
  visit_cuda_float(grad.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cuda::dropout_backward(grad.data<T>(), mask.data<uint8_t>(), grad_in.data<T>(),
                                    grad.numel(), static_cast<float>(scale),
                                    cuda::launch_stream(grad.device().index));
  });
}

constexpr DropoutBackend kTable{forward, backward};

}  // namespace

const DropoutBackend& DropoutBackend::cuda() {
  return kTable;
}

}  // namespace kiln::backend
