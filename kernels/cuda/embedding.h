#pragma once
// CUDA counterparts of kernels/embedding.h, for f32, bf16 and f16 tables and i32/i64 ids.
#include <cuda_runtime_api.h>

#include <cstdint>

namespace kiln::kernels::cuda {

// As the CPU launcher: returns -1, or the position of the first id outside
// [0, num_embeddings). Waits for the stream to read that result back.
template <typename T, typename I>
int64_t embedding_forward(const T* weight, int64_t row_stride, int64_t col_stride, const I* ids,
                          T* out, int64_t num_ids, int64_t num_embeddings, int64_t dim,
                          cudaStream_t stream);

// grad_weight[ids[i], :] += grad_out[i, :], both contiguous, ids in range. Deterministic: the
// rows of each id are summed in position order (ids sorted by a stable radix sort), with no
// atomics.
template <typename T, typename I>
void embedding_backward(const T* grad_out, const I* ids, T* grad_weight, int64_t num_ids,
                        int64_t num_embeddings, int64_t dim, cudaStream_t stream);

}  // namespace kiln::kernels::cuda
