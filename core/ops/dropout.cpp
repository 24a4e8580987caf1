#include "core/ops/dropout.h"

#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/ops/common.h"
#include "kernels/dropout.h"

#ifdef KILN_CUDA
#include "core/cuda/runtime.h"
#include "kernels/cuda/dropout.h"
#endif

namespace kiln {

Tensor dropout(const Tensor& x, double p, bool training, Generator* generator) {
  KILN_CHECK(p >= 0.0 && p <= 1.0, "dropout", "p = {} is not a probability, expected 0 <= p <= 1",
             p);
  check_floating("dropout", "input", x);
  if (!training || p == 0.0) return x;
  if (p == 1.0) {
    Tensor out = zeros(x.shape(), TensorOptions{x.dtype(), x.device()});
    record("dropout", out, {x},
           [shape = x.shape()](const Tensor& g, const std::vector<bool>&) -> std::vector<Tensor> {
             return {zeros(shape, TensorOptions{g.dtype(), g.device()})};
           });
    return out;
  }
  Generator& gen = generator != nullptr ? *generator : default_generator();
  const double scale = 1.0 / (1.0 - p);
  Tensor out = empty(x.shape(), TensorOptions{x.dtype(), x.device()});
  Tensor mask = empty(x.shape(), TensorOptions{DType::u8, x.device()});
  if (x.device().is_cuda()) {
#ifdef KILN_CUDA
    visit_cuda_float(x.dtype(), "dropout", [&](auto tag) {
      using T = decltype(tag);
      const uint64_t first = gen.advance(static_cast<uint64_t>(x.numel()));
      kernels::cuda::dropout_forward(x.data<T>(), x.layout(), out.data<T>(), mask.data<uint8_t>(),
                                     x.numel(), static_cast<float>(p), static_cast<float>(scale),
                                     gen.seed(), first, cuda::launch_stream(x.device().index));
    });
#endif
  } else {
    visit_float(x.dtype(), "dropout", [&](auto tag) {
      using T = decltype(tag);
      const uint64_t first = gen.advance(static_cast<uint64_t>(x.numel()));
      kernels::cpu::dropout_forward(x.data<T>(), x.layout(), out.data<T>(), mask.data<uint8_t>(),
                                    x.numel(), static_cast<float>(p), static_cast<T>(scale),
                                    gen.seed(), first);
    });
  }
  record("dropout", out, {x},
         [mask, scale](const Tensor& g, const std::vector<bool>&) -> std::vector<Tensor> {
           const Tensor packed = g.contiguous();
           Tensor grad = empty(g.shape(), TensorOptions{g.dtype(), g.device()});
           if (g.device().is_cuda()) {
#ifdef KILN_CUDA
             visit_cuda_float(g.dtype(), "dropout", [&](auto tag) {
               using T = decltype(tag);
               kernels::cuda::dropout_backward(packed.data<T>(), mask.data<uint8_t>(),
                                               grad.data<T>(), g.numel(), static_cast<float>(scale),
                                               cuda::launch_stream(g.device().index));
             });
#endif
           } else {
             visit_float(g.dtype(), "dropout", [&](auto tag) {
               using T = decltype(tag);
               kernels::cpu::dropout_backward(packed.data<T>(), mask.data<uint8_t>(),
                                              grad.data<T>(), g.numel(), static_cast<T>(scale));
             });
           }
           return {grad};
         });
  return out;
}

}  // namespace kiln
