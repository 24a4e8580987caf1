#include "core/ops/dropout.h"

#include "core/autograd.h"
#include "core/backend/dropout.h"
#include "core/backend/on_device.h"
#include "core/ops/common.h"

namespace kiln {
namespace {

using backend::DropoutBackend;

std::vector<Tensor> dropout_backward(const Tensor& mask, double scale, const Tensor& grad) {
  const Tensor grad_in = empty(grad.shape(), TensorOptions{grad.dtype(), grad.device()});
  on_device("dropout", grad.device(), &DropoutBackend::backward, grad.contiguous(), mask, grad_in,
            scale);
  return {grad_in};
}

}  // namespace

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
  const Tensor mask = empty(x.shape(), TensorOptions{DType::u8, x.device()});
  on_device("dropout", x.device(), &DropoutBackend::forward, x, out, mask, p, scale, gen);
  record("dropout", out, {x}, [mask, scale](const Tensor& g, const std::vector<bool>&) {
    return dropout_backward(mask, scale, g);
  });
  return out;
}

}  // namespace kiln
