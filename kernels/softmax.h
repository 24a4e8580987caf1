#pragma once
// Fused softmax and log-softmax over the last dim of a contiguous [rows, cols] array.
// With `causal`, the rows are [..., tq, cols] and row r is query i = r mod tq: key j is masked
// when j > i + (cols - tq). Masked entries get probability 0 (log-probability -inf); a row with
// every key masked (only possible when cols < tq) is all 0 (all -inf for log-softmax), and its
// gradient is 0.
#include <cstdint>

namespace kiln::kernels::cpu {

template <typename T>
void softmax_forward(const T* x, T* y, int64_t rows, int64_t cols, bool causal, int64_t tq);
template <typename T>
void log_softmax_forward(const T* x, T* y, int64_t rows, int64_t cols, bool causal, int64_t tq);

// dx = y ∘ (g - Σ g∘y), from the forward's output y.
template <typename T>
void softmax_backward(const T* y, const T* g, T* dx, int64_t rows, int64_t cols, bool causal,
                      int64_t tq);
// dx = g - exp(y) Σ g over the unmasked keys, from the forward's output y.
template <typename T>
void log_softmax_backward(const T* y, const T* g, T* dx, int64_t rows, int64_t cols, bool causal,
                          int64_t tq);

}  // namespace kiln::kernels::cpu
