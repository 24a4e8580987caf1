#include "kernels/sgd.h"

#include "kernels/cpu/parallel.h"
#include "kernels/numeric_types.h"

namespace kiln::kernels::cpu {
namespace {

template <typename C>
struct Coefficients {
  C lr, momentum, weight_decay, inv_grad_scale;
  bool use_momentum, use_decay, nesterov;

  explicit Coefficients(const SGDScalars& s)
      : lr(static_cast<C>(s.lr)),
        momentum(static_cast<C>(s.momentum)),
        weight_decay(static_cast<C>(s.weight_decay)),
        inv_grad_scale(static_cast<C>(1.0 / s.grad_scale)),
        use_momentum(s.momentum != 0),
        use_decay(s.weight_decay != 0),
        nesterov(s.nesterov) {}

  // Returns the updated parameter; updates the momentum buffer in place (unused without one).
  C update(C p, C grad, C* buffer) const {
    C d = grad * inv_grad_scale;
    if (use_decay) d += weight_decay * p;
    if (use_momentum) {
      const C buf = momentum * *buffer + d;
      *buffer = buf;
      d = nesterov ? d + momentum * buf : buf;
    }
    return p - lr * d;
  }
};

}  // namespace

template <typename T>
void sgd_step(T* param, const T* grad, T* momentum_buffer, int64_t n, const SGDScalars& s) {
  const Coefficients<T> c(s);
#pragma omp parallel for if (n > kParallelWork) schedule(static)
  for (int64_t i = 0; i < n; ++i)
    param[i] =
        c.update(param[i], grad[i], momentum_buffer != nullptr ? momentum_buffer + i : nullptr);
}

template <typename T>
void sgd_step_mixed(T* param, const T* grad, float* master, float* momentum_buffer, int64_t n,
                    const SGDScalars& s) {
  const Coefficients<float> c(s);
#pragma omp parallel for if (n > kParallelWork) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    master[i] = c.update(master[i], static_cast<float>(grad[i]),
                         momentum_buffer != nullptr ? momentum_buffer + i : nullptr);
    param[i] = T(master[i]);
  }
}

template void sgd_step<float>(float*, const float*, float*, int64_t, const SGDScalars&);
template void sgd_step<double>(double*, const double*, double*, int64_t, const SGDScalars&);
template void sgd_step_mixed<bf16>(bf16*, const bf16*, float*, float*, int64_t, const SGDScalars&);
template void sgd_step_mixed<f16>(f16*, const f16*, float*, float*, int64_t, const SGDScalars&);

}  // namespace kiln::kernels::cpu
