#pragma once
// CUDA counterparts of kernels/random.h: element i uses Philox counter (offset + i) and the
// CPU kernel's arithmetic, so a generator state gives the same numbers on both devices.
#include <cuda_runtime_api.h>

#include <cstdint>

namespace kiln::kernels::cuda {

// f32 draws (what f32/bf16/f16 tensors are made from) and i64 integers.
void uniform(float* out, int64_t n, uint64_t seed, uint64_t offset, double low, double high,
             cudaStream_t stream);
void normal(float* out, int64_t n, uint64_t seed, uint64_t offset, double mean, double std,
            cudaStream_t stream);
void randint(int64_t* out, int64_t n, uint64_t seed, uint64_t offset, int64_t low, int64_t high,
             cudaStream_t stream);

}  // namespace kiln::kernels::cuda
