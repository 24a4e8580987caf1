#pragma once
// CUDA counterpart of kernels/rope.h, ordered on `stream`. T is float, bf16 or f16 storage; the
// tables and the arithmetic are f32.
#include <cuda_runtime_api.h>

#include <cstdint>

namespace kiln::kernels::cuda {

template <typename T>
void rope(const T* x, const float* cos, const float* sin, T* y, int64_t outer, int64_t time,
          int64_t inner, int64_t dim, int64_t start, bool inverse, cudaStream_t stream);

}  // namespace kiln::kernels::cuda
