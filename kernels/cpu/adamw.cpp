#include "kernels/adamw.h"

#include <cmath>

namespace kiln::kernels::cpu {
namespace {

constexpr int64_t kParallelWork = 1 << 15;

}  // namespace

template <typename T>
void adamw_step(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, int64_t n,
                const AdamWScalars& s) {
  // Scalars are rounded to T once, as torch does when it hands Python floats to f32 kernels.
  const T decay = static_cast<T>(1.0 - s.lr * s.weight_decay);
  const T beta1 = static_cast<T>(s.beta1);
  const T beta2 = static_cast<T>(s.beta2);
  const T one_minus_beta1 = static_cast<T>(1.0 - s.beta1);
  const T one_minus_beta2 = static_cast<T>(1.0 - s.beta2);
  const T step_size = static_cast<T>(s.lr / s.bias_correction1);
  const T bias_correction2_sqrt = static_cast<T>(std::sqrt(s.bias_correction2));
  const T eps = static_cast<T>(s.eps);
#pragma omp parallel for if (n > kParallelWork) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const T g = grad[i];
    const T m = beta1 * exp_avg[i] + one_minus_beta1 * g;
    const T v = beta2 * exp_avg_sq[i] + one_minus_beta2 * g * g;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    const T denom = std::sqrt(v) / bias_correction2_sqrt + eps;
    param[i] = param[i] * decay - step_size * (m / denom);
  }
}

template void adamw_step<float>(float*, const float*, float*, float*, int64_t, const AdamWScalars&);
template void adamw_step<double>(double*, const double*, double*, double*, int64_t,
                                 const AdamWScalars&);

}  // namespace kiln::kernels::cpu
