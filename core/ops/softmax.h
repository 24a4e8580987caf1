#pragma once
// Fused softmax and log-softmax over the last dim.
#include "core/tensor.h"

namespace kiln {

// With `causal`, x is [..., Tq, Tk] and key j is masked (probability 0) for query i when
// j > i + (Tk - Tq): the mask is aligned to the bottom-right, so a query block that follows a
// cached prefix sees the prefix.
Tensor softmax(const Tensor& x, bool causal = false);
Tensor log_softmax(const Tensor& x, bool causal = false);

}  // namespace kiln
