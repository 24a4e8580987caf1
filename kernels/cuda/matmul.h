#pragma once
// CUDA counterparts of kernels/matmul.h: products through cuBLASLt, ordered on a stream.
// Matrices are row-major with a leading dimension, as on the CPU; cuBLASLt is column-major, so
// each product is computed as its transpose (cᵀ = op(b)ᵀ · op(a)ᵀ) with no copy, and transposed
// operands stay transpose flags.
#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "kernels/layout.h"

namespace kiln::kernels::cuda {

// What the products on one device share: its cuBLASLt handle and workspace, and its stream.
// `device` keys the cache of chosen algorithms (an algorithm is chosen for one GPU).
struct BlasContext {
  cublasLtHandle_t handle = nullptr;
  int device = 0;
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
  cudaStream_t stream = nullptr;
};

// c = op(a) · op(b) (+ bias broadcast over rows) with op(a) [m, k], op(b) [k, n] and c [m, n]
// contiguous; `bias` [n] may be null, and must be 16-byte aligned (cuBLASLt reads it in vectors).
// f32 computes in f32 unless `allow_tf32` (inputs rounded to TF32 on tensor cores); bf16/f16
// accumulate in f32.
template <typename T>
void gemm(const BlasContext& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
          const T* a, int64_t lda, const T* b, int64_t ldb, const T* bias, T* c, bool allow_tf32);

// `batch` products: matrix i of a starts at a + a_batch.offset_of(i) (broadcast batch dims have
// stride 0), likewise b; c is contiguous, matrix i at c + i·m·n. Runs as strided-batched calls,
// one per run of batch indices that both operands step through with a constant stride (one
// call for contiguous or broadcast operands).
template <typename T>
void gemm_batched(const BlasContext& ctx, int64_t batch, bool trans_a, bool trans_b, int64_t m,
                  int64_t n, int64_t k, const T* a, const StridedLayout& a_batch, int64_t lda,
                  const T* b, const StridedLayout& b_batch, int64_t ldb, T* c, bool allow_tf32);

// out[j] = Σ_i g[i·ld + j] (a bias gradient), accumulated in f32 in a fixed order.
template <typename T>
void sum_rows(const T* g, int64_t rows, int64_t cols, int64_t ld, T* out, cudaStream_t stream);

}  // namespace kiln::kernels::cuda
