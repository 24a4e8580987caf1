#include "core/backend/softmax.h"

#include "core/dispatch.h"
#include "kernels/softmax.h"

namespace kiln::backend {
namespace {

void forward(std::string_view op, const Tensor& x, const Tensor& y, int64_t rows, int64_t cols,
             bool causal, int64_t tq, bool log) {
  visit_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (log)
      kernels::cpu::log_softmax_forward(x.data<T>(), y.data<T>(), rows, cols, causal, tq);
    else
      kernels::cpu::softmax_forward(x.data<T>(), y.data<T>(), rows, cols, causal, tq);
  });
}

void backward(std::string_view op, const Tensor& y, const Tensor& grad, const Tensor& dx,
              int64_t rows, int64_t cols, bool causal, int64_t tq, bool log) {
  visit_float(y.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (log) {
      kernels::cpu::log_softmax_backward(y.data<T>(), grad.data<T>(), dx.data<T>(), rows, cols,
                                         causal, tq);
    } else {
      kernels::cpu::softmax_backward(y.data<T>(), grad.data<T>(), dx.data<T>(), rows, cols, causal,
                                     tq);
    }
  });
}

constexpr SoftmaxBackend kTable{forward, backward};

}  // namespace

const SoftmaxBackend& SoftmaxBackend::cpu() {
  return kTable;
}

}  // namespace kiln::backend
