#pragma once
// Fused cross-entropy over a contiguous [rows, cols] array of logits and one target class per
// row (rows whose target is ignore_index do not count). The forward keeps each row's
// log-sum-exp; the backward turns it back into probabilities without a stored softmax. Targets
// must already be checked to lie in [0, cols) or equal ignore_index.
#include <cstdint>

namespace kiln::kernels::cpu {

// Writes lse[r] = log Σ_j exp(logits[r, j]) and returns Σ_r (lse[r] - logits[r, target_r]) over
// the counted rows, summed in row order; *count gets their number.
template <typename T, typename I>
double cross_entropy_forward(const T* logits, const I* targets, int64_t rows, int64_t cols,
                             int64_t ignore_index, T* lse, int64_t* count);

// dlogits[r, j] = (exp(logits[r, j] - lse[r]) - [j == target_r]) · scale on counted rows, 0 on
// ignored ones; scale is the loss gradient over the count.
template <typename T, typename I>
void cross_entropy_backward(const T* logits, const I* targets, const T* lse, int64_t rows,
                            int64_t cols, int64_t ignore_index, T scale, T* dlogits);

}  // namespace kiln::kernels::cpu
