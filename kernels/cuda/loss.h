#pragma once
// CUDA cross-entropy (see kernels/loss.h for the CPU one), ordered on `stream`. T is float,
// bf16 or f16 (computed in f32); I is int32_t or int64_t. Everything stays on the device: the
// count of non-ignored rows, the loss and its gradient are never read back by the launchers.
#include <cuda_runtime_api.h>

#include <cstdint>

namespace kiln::kernels::cuda {

// Writes lse[r] = log Σ_j exp(logits[r, j]) (f32), *count = the number of rows whose target is
// not ignore_index (f32, exact below 2^24 rows) and *loss = the mean of lse[r] - logits[r, t_r]
// over those rows (0 when there are none), in f32 whatever T is. row_loss is scratch of `rows`
// floats; the mean adds it in a fixed order. When dlogits is not null, the same pass also writes
// the gradient of the mean: (softmax(logits[r]) - onehot(t_r)) / count on counted rows, 0 on
// ignored ones, so the backward of a loss whose upstream gradient is 1 has nothing left to compute.
// A target outside [0, cols) (the caller checks them) gives a NaN loss rather than a wild read.
template <typename T, typename I>
void cross_entropy_forward(const T* logits, const I* targets, int64_t rows, int64_t cols,
                           int64_t ignore_index, float* lse, float* count, float* row_loss,
                           float* loss, T* dlogits, cudaStream_t stream);

// dlogits = (softmax(logits[r]) - onehot(t_r)) · scale / *count on counted rows, 0 on ignored
// ones, from the forward's lse and count: the gradient for an upstream gradient `scale`.
template <typename T, typename I>
void cross_entropy_backward(const T* logits, const I* targets, const float* lse, const float* count,
                            double scale, int64_t rows, int64_t cols, int64_t ignore_index,
                            T* dlogits, cudaStream_t stream);

}  // namespace kiln::kernels::cuda
