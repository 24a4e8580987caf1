#pragma once
// Exact attention on the CPU without the Tq × Tk score matrix: each tile of query rows streams
// over blocks of keys with an online softmax (a running max and sum, and an output accumulator
// rescaled when the max grows), so memory is O(T·D). The forward saves each query row's
// log-sum-exp; the backward recomputes the probabilities from it.
#include <cstdint>

namespace kiln::kernels {

// q, out [batch, heads, tq, dim]; k, v [batch, kv_heads, tk, dim], all contiguous; query head h
// reads kv head h / (heads / kv_heads). With `causal`, query i sees keys j <= i + (tk - tq); a
// query that sees no key (tk < tq) gets output 0 and log-sum-exp -inf.
struct AttentionDims {
  int64_t batch = 0;
  int64_t heads = 0;
  int64_t kv_heads = 0;
  int64_t tq = 0;
  int64_t tk = 0;
  int64_t dim = 0;
  bool causal = false;
  double scale = 1.0;
};

}  // namespace kiln::kernels

namespace kiln::kernels::cpu {

// out = softmax(q kᵀ · scale) v; lse [batch, heads, tq] = log Σ_j exp(q_i · k_j · scale).
template <typename T>
void attention_forward(const T* q, const T* k, const T* v, T* out, T* lse,
                       const AttentionDims& dims);

// Gradients for the output gradient dout (contiguous, like out). dq is [batch, heads, tq, dim],
// dk and dv are [batch, kv_heads, tk, dim] summed over the query heads sharing each kv head; any
// of them may be null. Each element is summed by one thread in a fixed order (dq in parallel
// over query tiles, dk/dv over key tiles), so results do not depend on the thread count.
template <typename T>
void attention_backward(const T* q, const T* k, const T* v, const T* out, const T* lse,
                        const T* dout, T* dq, T* dk, T* dv, const AttentionDims& dims);

}  // namespace kiln::kernels::cpu
