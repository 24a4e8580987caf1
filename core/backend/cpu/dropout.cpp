#include "core/backend/dropout.h"

#include "core/dispatch.h"
#include "kernels/dropout.h"

namespace kiln::backend {
namespace {

void forward(std::string_view op, const Tensor& x, const Tensor& out, const Tensor& mask, double p,
             double scale, Generator& generator) {
  visit_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const uint64_t first = generator.advance(static_cast<uint64_t>(x.numel()));
    kernels::cpu::dropout_forward(x.data<T>(), x.layout(), out.data<T>(), mask.data<uint8_t>(),
                                  x.numel(), static_cast<float>(p), static_cast<T>(scale),
                                  generator.seed(), first);
  });
}

void backward(std::string_view op, const Tensor& grad, const Tensor& mask, const Tensor& grad_in,
              double scale) {
  visit_float(grad.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::dropout_backward(grad.data<T>(), mask.data<uint8_t>(), grad_in.data<T>(),
                                   grad.numel(), static_cast<T>(scale));
  });
}

constexpr DropoutBackend kTable{forward, backward};

}  // namespace

const DropoutBackend& DropoutBackend::cpu() {
  return kTable;
}

}  // namespace kiln::backend
