#pragma once
// One SGD step over a parameter in a single pass, with torch.optim.SGD's semantics (no
// dampening):
//   d = g + weight_decay * p
//   buf = momentum * buf + d          (when momentum != 0)
//   d = nesterov ? d + momentum * buf : buf
//   p -= lr * d
// torch starts the buffer as a copy of the first d; starting from zeros gives the same
// values, since momentum * 0 + d == d exactly. g is the gradient divided by grad_scale (the loss
// scale of f16 training). bf16/f16 parameters are updated through an f32 master copy, as in
// kernels/adamw.h.
#include <cstdint>

namespace kiln::kernels {

struct SGDScalars {
  double lr = 0;
  double momentum = 0;
  double weight_decay = 0;  // 0 for parameters that are not decayed
  bool nesterov = false;
  double grad_scale = 1;  // the gradients hold grad_scale x the true gradient
};

}  // namespace kiln::kernels

namespace kiln::kernels::cpu {

// Updates param and momentum_buffer (n contiguous elements each) in place; the buffer may be
// null when momentum is 0.
template <typename T>
void sgd_step(T* param, const T* grad, T* momentum_buffer, int64_t n, const SGDScalars& s);

// T = bf16 or f16: updates master (and the f32 momentum buffer, null when momentum is 0) and
// writes param = master rounded to T.
template <typename T>
void sgd_step_mixed(T* param, const T* grad, float* master, float* momentum_buffer, int64_t n,
                    const SGDScalars& s);

}  // namespace kiln::kernels::cpu
