#pragma once
#include "core/tensor.h"

namespace kiln {

// Mean over the targets that are not ignore_index of -log softmax(logits)[target].
// logits [..., C]; targets [...] (i32/i64). Fused: one pass for the loss, and the backward
// writes (softmax - onehot) / count without materialising probabilities on the forward.
// With every target ignored the loss is 0 (and so is the gradient), not NaN.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index = -100);

}  // namespace kiln
