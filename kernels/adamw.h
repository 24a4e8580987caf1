#pragma once
// One AdamW step over a parameter, fused into a single pass over p, g, m and v (the way
// torch.optim.AdamW's single-tensor path computes it, without its temporaries):
//   p -= lr * weight_decay * p                      (decoupled weight decay, before the update)
//   m  = beta1 * m + (1 - beta1) * g
//   v  = beta2 * v + (1 - beta2) * g * g
//   p -= lr / bias_correction1 * m / (sqrt(v) / sqrt(bias_correction2) + eps)
// with bias_correction_k = 1 - beta_k^step. The scalars come from the host so that the CUDA
// launcher (same arguments plus a stream) computes the same numbers.
#include <cstdint>

namespace kiln::kernels {

struct AdamWScalars {
  double lr = 0;
  double beta1 = 0;
  double beta2 = 0;
  double eps = 0;
  double weight_decay = 0;  // 0 for parameters that are not decayed
  double bias_correction1 = 1;
  double bias_correction2 = 1;
};

}  // namespace kiln::kernels

namespace kiln::kernels::cpu {

// Updates param, exp_avg and exp_avg_sq (n contiguous elements each) in place.
template <typename T>
void adamw_step(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, int64_t n,
                const AdamWScalars& s);

}  // namespace kiln::kernels::cpu
