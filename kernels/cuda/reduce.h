#pragma once
// CUDA counterparts of kernels/reduce.h (same [outer, reduced] reading of the input), for f32,
// bf16 and f16 with f32 accumulation. Deterministic: no atomics, and the summation order
// depends only on the shapes, so a run repeats bit for bit.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/layout.h"

namespace kiln::kernels::cuda {

template <typename T>
void sum_reduce(const T* in, const StridedLayout& outer, const StridedLayout& reduced, T* out,
                double scale, cudaStream_t stream);

// Either output may be null; NaN counts as the maximum and ties keep the first index.
template <typename T>
void max_reduce(const T* in, const StridedLayout& outer, const StridedLayout& reduced, T* out,
                int64_t* index, cudaStream_t stream);

template <typename T>
void max_reduce_backward(const T* grad_out, const int64_t* index, const StridedLayout& outer,
                         const StridedLayout& reduced, T* grad_in, cudaStream_t stream);

}  // namespace kiln::kernels::cuda
