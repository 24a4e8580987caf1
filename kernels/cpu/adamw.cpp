#include "kernels/adamw.h"

#include <cmath>

#include "kernels/cpu/parallel.h"
#include "kernels/numeric_types.h"

namespace kiln::kernels::cpu {
namespace {

// Scalars are rounded to C once, as torch does when it hands Python floats to f32 kernels.
template <typename C>
struct Coefficients {
  C decay, beta1, beta2, one_minus_beta1, one_minus_beta2, step_size, bias_correction2_sqrt, eps,
      inv_grad_scale;

  explicit Coefficients(const AdamWScalars& s)
      : decay(static_cast<C>(1.0 - s.lr * s.weight_decay)),
        beta1(static_cast<C>(s.beta1)),
        beta2(static_cast<C>(s.beta2)),
        one_minus_beta1(static_cast<C>(1.0 - s.beta1)),
        one_minus_beta2(static_cast<C>(1.0 - s.beta2)),
        step_size(static_cast<C>(s.lr / s.bias_correction1)),
        bias_correction2_sqrt(static_cast<C>(std::sqrt(s.bias_correction2))),
        eps(static_cast<C>(s.eps)),
        inv_grad_scale(static_cast<C>(1.0 / s.grad_scale)) {}

  // Returns the updated parameter; updates the moments in place.
  C update(C p, C grad, C& exp_avg, C& exp_avg_sq) const {
    const C g = grad * inv_grad_scale;
    const C m = beta1 * exp_avg + one_minus_beta1 * g;
    const C v = beta2 * exp_avg_sq + one_minus_beta2 * g * g;
    exp_avg = m;
    exp_avg_sq = v;
    const C denom = std::sqrt(v) / bias_correction2_sqrt + eps;
    return p * decay - step_size * (m / denom);
  }
};

}  // namespace

template <typename T>
void adamw_step(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, int64_t n,
                const AdamWScalars& s) {
  const Coefficients<T> c(s);
#pragma omp parallel for if (n > kParallelWork) schedule(static)
  for (int64_t i = 0; i < n; ++i) param[i] = c.update(param[i], grad[i], exp_avg[i], exp_avg_sq[i]);
}

template <typename T>
void adamw_step_mixed(T* param, const T* grad, float* master, float* exp_avg, float* exp_avg_sq,
                      int64_t n, const AdamWScalars& s) {
  const Coefficients<float> c(s);
#pragma omp parallel for if (n > kParallelWork) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    master[i] = c.update(master[i], static_cast<float>(grad[i]), exp_avg[i], exp_avg_sq[i]);
    param[i] = T(master[i]);
  }
}

template void adamw_step<float>(float*, const float*, float*, float*, int64_t, const AdamWScalars&);
template void adamw_step<double>(double*, const double*, double*, double*, int64_t,
                                 const AdamWScalars&);
template void adamw_step_mixed<bf16>(bf16*, const bf16*, float*, float*, float*, int64_t,
                                     const AdamWScalars&);
template void adamw_step_mixed<f16>(f16*, const f16*, float*, float*, float*, int64_t,
                                    const AdamWScalars&);

}  // namespace kiln::kernels::cpu
