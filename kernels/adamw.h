#pragma once
// One AdamW step over a parameter, fused into a single pass over p, g, m and v (the way
// torch.optim.AdamW's single-tensor path computes it, without its temporaries):
//   p -= lr * weight_decay * p                      (decoupled weight decay, before the update)
//   m  = beta1 * m + (1 - beta1) * g
//   v  = beta2 * v + (1 - beta2) * g * g
//   p -= lr / bias_correction1 * m / (sqrt(v) / sqrt(bias_correction2) + eps)
// with bias_correction_k = 1 - beta_k^step and g the gradient divided by grad_scale (the loss
// scale of f16 training; 1 otherwise). The scalars come from the host so that the CUDA launcher
// (kernels/cuda/adamw.h) computes the same numbers.
//
// Mixed precision: a bf16/f16 parameter is updated through an f32 master copy (the value the
// update really applies to) with f32 moments; the parameter gets the master rounded to its
// type, in the same pass.
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
  double grad_scale = 1;  // the gradients hold grad_scale x the true gradient
};

}  // namespace kiln::kernels

namespace kiln::kernels::cpu {

// Updates param, exp_avg and exp_avg_sq (n contiguous elements each) in place.
template <typename T>
void adamw_step(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, int64_t n,
                const AdamWScalars& s);

// The mixed-precision step for T = bf16 or f16: updates master, exp_avg and exp_avg_sq (f32)
// and writes param = master rounded to T. The CPU reference for the CUDA kernel.
template <typename T>
void adamw_step_mixed(T* param, const T* grad, float* master, float* exp_avg, float* exp_avg_sq,
                      int64_t n, const AdamWScalars& s);

}  // namespace kiln::kernels::cpu
