#pragma once
// FlashAttention-2 style attention on CUDA, ordered on `stream`. Layout as in
// kernels/attention.h: q, out, dout, dq [batch, heads, tq, dim]; k, v, dk, dv
// [batch, kv_heads, tk, dim], all contiguous; lse and the scratch rows are f32 [batch, heads, tq].
//
// bf16/f16 with dim 32, 64, 96 or 128 run on the tensor cores (mma.sync m16n8k16, f32
// accumulation, sm_80+); f32, and other head dims up to 256, run a plain FMA kernel (one warp
// per row) that exists for testing and odd shapes.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/attention.h"

namespace kiln::kernels::cuda {

// The largest head dim any path takes (the FMA kernels keep dim / 32 values per lane).
constexpr int64_t kAttentionMaxDim = 256;

// out = softmax(q kᵀ · scale) v and lse = log Σ_j exp(q_i · k_j · scale) per query row
// (-inf for a query that sees no key, whose output is 0).
template <typename T>
void attention_forward(const T* q, const T* k, const T* v, T* out, float* lse,
                       const AttentionDims& dims, cudaStream_t stream);

// Gradients for dout. dq, dk, dv must all be given (the kernels produce them together).
// `workspace` holds attention_backward_workspace<T>(dims, deterministic) bytes of device memory.
// With `deterministic`, dq comes from its own pass over the keys instead of atomic adds, so it is
// bitwise equal across runs (dk and dv always are: each is summed by one block in a fixed order).
template <typename T>
void attention_backward(const T* q, const T* k, const T* v, const T* out, const float* lse,
                        const T* dout, T* dq, T* dk, T* dv, void* workspace,
                        const AttentionDims& dims, bool deterministic, cudaStream_t stream);

// Bytes of scratch attention_backward needs: the dout · out row dots and, for the atomic dq of
// the tensor-core path, an f32 accumulator.
template <typename T>
int64_t attention_backward_workspace(const AttentionDims& dims, bool deterministic);

}  // namespace kiln::kernels::cuda
