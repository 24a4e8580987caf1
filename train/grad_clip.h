#pragma once
// Gradient-norm clipping over a set of parameters, as torch.nn.utils.clip_grad_norm_, and the
// finiteness test a trainer runs before stepping. Parameters without a gradient are skipped.
#include <vector>

#include "core/tensor.h"

namespace kiln::train {

// The L2 norm of all defined gradients together, accumulated in double; the same inputs give
// the same bits whatever the thread count.
double global_grad_norm(const std::vector<Tensor>& params);

// Returns the norm before clipping; when it exceeds max_norm, scales every gradient in place
// by max_norm / (norm + 1e-6). A non-finite norm is returned and nothing is scaled (the caller
// should skip the step: grads_are_finite tells which).
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

// True when no defined gradient holds a NaN or an infinity.
bool grads_are_finite(const std::vector<Tensor>& params);

}  // namespace kiln::train
