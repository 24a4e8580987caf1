#pragma once
// Embedding lookup: rows of a [num_embeddings, dim] table picked by integer ids, and the
// backward that adds each output row's gradient into the row it came from.
#include <cstdint>

namespace kiln::kernels::cpu {

// out[i, :] = weight[ids[i], :] for i < num_ids, with weight element (r, c) at
// weight[r * row_stride + c * col_stride] and out contiguous [num_ids, dim]. Returns -1, or
// the position of the first id outside [0, num_embeddings) (then out is incomplete).
template <typename T, typename I>
int64_t embedding_forward(const T* weight, int64_t row_stride, int64_t col_stride, const I* ids,
                          T* out, int64_t num_ids, int64_t num_embeddings, int64_t dim);

// grad_weight[ids[i], :] += grad_out[i, :] over i in order, both contiguous; ids must be in
// range. Threads own disjoint column ranges, so repeated ids never race and the result does
// not depend on the thread count.
template <typename T, typename I>
void embedding_backward(const T* grad_out, const I* ids, T* grad_weight, int64_t num_ids,
                        int64_t dim);

}  // namespace kiln::kernels::cpu
