#pragma once
#include "core/tensor.h"

namespace kiln {

// Mean over the targets that are not ignore_index of -log softmax(logits)[target].
// logits [..., C]; targets [...] (i32/i64). Fused: one pass for the loss, and the backward
// writes (softmax - onehot) / count without materialising probabilities on the forward.
// With every target ignored the loss is 0 (and so is the gradient), not NaN.
// On CUDA the forward writes the gradient in the same pass as the loss (no probability tensor
// at all), and the loss is f32 even for bf16/f16 logits.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index = -100);

}  // namespace kiln
