#pragma once
// CUDA counterparts of kernels/dropout.h: the same Philox draw per element, so a seed and offset
// give the same mask on both devices. `scale` is f32 here for every element type, so 16-bit
// outputs are scaled by 1/(1-p) exactly before their single rounding.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/layout.h"

namespace kiln::kernels::cuda {

template <typename T>
void dropout_forward(const T* x, const StridedLayout& x_layout, T* out, uint8_t* mask, int64_t n,
                     float p, float scale, uint64_t seed, uint64_t offset, cudaStream_t stream);

template <typename T>
void dropout_backward(const T* grad, const uint8_t* mask, T* grad_in, int64_t n, float scale,
                      cudaStream_t stream);

}  // namespace kiln::kernels::cuda
