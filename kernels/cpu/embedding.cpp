#include "kernels/embedding.h"

#include <algorithm>

#include "kernels/cpu/parallel.h"

namespace kiln::kernels::cpu {
namespace {

// Columns per backward task: wide enough for contiguous reads, narrow enough to give every
// thread a share of a GPT-sized row (768 columns).
constexpr int64_t kColumnChunk = 64;

}  // namespace

template <typename T, typename I>
int64_t embedding_forward(const T* weight, int64_t row_stride, int64_t col_stride, const I* ids,
                          T* out, int64_t num_ids, int64_t num_embeddings, int64_t dim) {
  for (int64_t i = 0; i < num_ids; ++i)
    if (ids[i] < 0 || static_cast<int64_t>(ids[i]) >= num_embeddings) return i;
#pragma omp parallel for if (num_ids * dim > kParallelWork) schedule(static)
  for (int64_t i = 0; i < num_ids; ++i) {
    const T* row = weight + static_cast<int64_t>(ids[i]) * row_stride;
    T* dst = out + i * dim;
    if (col_stride == 1) {
      std::copy(row, row + dim, dst);
    } else {
      for (int64_t c = 0; c < dim; ++c) dst[c] = row[c * col_stride];
    }
  }
  return -1;
}

template <typename T, typename I>
void embedding_backward(const T* grad_out, const I* ids, T* grad_weight, int64_t num_ids,
                        int64_t dim) {
  const int64_t chunks = (dim + kColumnChunk - 1) / kColumnChunk;
#pragma omp parallel for if (num_ids * dim > kParallelWork) schedule(static)
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    const int64_t c0 = chunk * kColumnChunk;
    const int64_t c1 = std::min(dim, c0 + kColumnChunk);
    for (int64_t i = 0; i < num_ids; ++i) {
      const T* src = grad_out + i * dim;
      T* dst = grad_weight + static_cast<int64_t>(ids[i]) * dim;
      for (int64_t c = c0; c < c1; ++c) dst[c] += src[c];
    }
  }
}

#define KILN_INSTANTIATE_EMBEDDING(T, I)                                                      \
  template int64_t embedding_forward<T, I>(const T*, int64_t, int64_t, const I*, T*, int64_t, \
                                           int64_t, int64_t);                                 \
  template void embedding_backward<T, I>(const T*, const I*, T*, int64_t, int64_t);
KILN_INSTANTIATE_EMBEDDING(float, int32_t)
KILN_INSTANTIATE_EMBEDDING(float, int64_t)
KILN_INSTANTIATE_EMBEDDING(double, int32_t)
KILN_INSTANTIATE_EMBEDDING(double, int64_t)

}  // namespace kiln::kernels::cpu
