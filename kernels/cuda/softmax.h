#pragma once
// CUDA counterparts of kernels/softmax.h (same masking convention), ordered on `stream`.
// T is float, bf16 or f16, computed in f32.
#include <cuda_runtime_api.h>

#include <cstdint>

namespace kiln::kernels::cuda {

template <typename T>
void softmax_forward(const T* x, T* y, int64_t rows, int64_t cols, bool causal, int64_t tq,
                     cudaStream_t stream);
template <typename T>
void log_softmax_forward(const T* x, T* y, int64_t rows, int64_t cols, bool causal, int64_t tq,
                         cudaStream_t stream);
template <typename T>
void softmax_backward(const T* y, const T* g, T* dx, int64_t rows, int64_t cols, bool causal,
                      int64_t tq, cudaStream_t stream);
template <typename T>
void log_softmax_backward(const T* y, const T* g, T* dx, int64_t rows, int64_t cols, bool causal,
                          int64_t tq, cudaStream_t stream);

}  // namespace kiln::kernels::cuda
