#pragma once
// CUDA counterparts of kernels/random.h: element i uses Philox counter (offset + i) and the
// CPU kernel's arithmetic, so a generator state gives the same numbers on both devices.
#include <cuda_runtime_api.h>

#include <cstdint>

namespace kiln::kernels::cuda {

// T is float (the draw type of f32/bf16/f16 tensors) or int64_t for randint.
template <typename T>
void uniform(T* out, int64_t n, uint64_t seed, uint64_t offset, double low, double high,
             cudaStream_t stream);
template <typename T>
void normal(T* out, int64_t n, uint64_t seed, uint64_t offset, double mean, double std,
            cudaStream_t stream);
template <typename T>
void randint(T* out, int64_t n, uint64_t seed, uint64_t offset, int64_t low, int64_t high,
             cudaStream_t stream);

}  // namespace kiln::kernels::cuda
