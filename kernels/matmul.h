#pragma once
// Matrix products on the CPU through CBLAS. Matrices are row-major with a leading dimension
// (the distance between rows), so a view whose rows are spaced out, and a transposed view passed
// as a transpose flag, reach the BLAS without a copy.
#include <cstdint>

#include "kernels/layout.h"

namespace kiln::kernels::cpu {

// c = op(a) · op(b) + beta · c with op(a) [m, k], op(b) [k, n], c [m, n]; op transposes when
// the flag is set (a is then stored [k, m]). beta is 0 (c is only written) or 1 (accumulate).
template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda,
          const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

// `batch` products: matrix i of a starts at a + a_batch.offset_of(i) (broadcast batch dims have
// stride 0), likewise b; c is contiguous, matrix i at c + i·m·n. Small products run in parallel
// over the batch; large ones one after another, each threaded by the BLAS.
template <typename T>
void gemm_batched(int64_t batch, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                  const T* a, const StridedLayout& a_batch, int64_t lda, const T* b,
                  const StridedLayout& b_batch, int64_t ldb, T* c);

// c[i, :] = row for i < rows: a bias written before a gemm with beta = 1 accumulates onto it.
template <typename T>
void broadcast_rows(const T* row, T* c, int64_t rows, int64_t cols, int64_t ldc);

// out[j] = Σ_i g[i·ld + j]: a bias gradient. Accumulates in double, in a fixed order.
template <typename T>
void sum_rows(const T* g, int64_t rows, int64_t cols, int64_t ld, T* out);

}  // namespace kiln::kernels::cpu
