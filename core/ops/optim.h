#pragma once
// The optimizers' per-parameter updates and the gradient-clipping reductions as ops: what
// train/ calls for one group of parameters of one device and dtype (one multi-tensor launch on
// CUDA). None records autograd; all update their tensors in place. Arithmetic: kernels/adamw.h,
// kernels/sgd.h, kernels/grad_clip.h.
#include <vector>

#include "core/tensor.h"
#include "kernels/adamw.h"
#include "kernels/sgd.h"

namespace kiln {

using AdamWHyper = kernels::AdamWScalars;
using SGDHyper = kernels::SGDScalars;

// One parameter of an update: its gradient (any layout; read contiguous), its state buffers in
// the optimizer's order (AdamW: exp_avg, exp_avg_sq; SGD: momentum, or none when momentum is 0),
// its f32 master copy (undefined for f32/f64 parameters, their own master) and whether weight
// decay applies to it. State is f32, or f64 for f64 parameters (CPU only).
struct ParamUpdate {
  Tensor param;
  Tensor grad;
  std::vector<Tensor> state;
  Tensor master;
  bool decay = false;
};

// hyper.weight_decay applies to the parameters with decay set.
void adamw_update(const std::vector<ParamUpdate>& group, const AdamWHyper& hyper);
void sgd_update(const std::vector<ParamUpdate>& group, const SGDHyper& hyper);

// Σ x² over every element of a group of gradients of one device and dtype, in double.
double grads_sum_of_squares(const std::vector<Tensor>& group);
// x *= scale over a group of gradients, in place.
void grads_scale_(const std::vector<Tensor>& group, double scale);
// True when no element of the group is NaN or infinite.
bool grads_all_finite(const std::vector<Tensor>& group);

}  // namespace kiln
