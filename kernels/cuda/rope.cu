// Rotary position embedding, fused: one thread per (x1, x2) pair, which reads both halves and its
// cos/sin entry and writes both outputs, so x is read once and y written once in one launch (the
// composed form, x · cos + rotate_half(x) · sin, makes four passes and three temporaries). A
// pair's two halves are D/2 apart, and consecutive threads take consecutive i, so every load
// and store is coalesced. The tables are small and hot in L2.
#include "kernels/cuda/convert.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/rope.h"

namespace kiln::kernels::cuda {
namespace {

template <typename T>
__global__ void rope_kernel(const T* x, const float* cos, const float* sin, T* y, int64_t pairs,
                            int64_t time, int64_t inner, int64_t half, int64_t start, float sign) {
  for (int64_t p = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; p < pairs;
       p += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = p % half;
    const int64_t vector = p / half;  // index over [outer, time, inner]
    const int64_t position = start + (vector / inner) % time;
    const int64_t base = vector * 2 * half;
    const float x1 = to_float(x[base + i]);
    const float x2 = to_float(x[base + i + half]);
    const float c = cos[position * half + i];
    const float s = sign * sin[position * half + i];
    y[base + i] = convert<T>(x1 * c - x2 * s);
    y[base + i + half] = convert<T>(x2 * c + x1 * s);
  }
}

}  // namespace

template <typename T>
void rope(const T* x, const float* cos, const float* sin, T* y, int64_t outer, int64_t time,
          int64_t inner, int64_t dim, int64_t start, bool inverse, cudaStream_t stream) {
  const int64_t half = dim / 2;
  const int64_t pairs = outer * time * inner * half;
  if (pairs == 0) return;
  rope_kernel<T><<<grid_for(pairs), kBlockSize, 0, stream>>>(x, cos, sin, y, pairs, time, inner,
                                                             half, start, inverse ? -1.f : 1.f);
  KILN_CUDA_CHECK(cudaGetLastError());
}

#define KILN_CUDA_INSTANTIATE_ROPE(T)                                                        \
  template void rope<T>(const T*, const float*, const float*, T*, int64_t, int64_t, int64_t, \
                        int64_t, int64_t, bool, cudaStream_t);
KILN_CUDA_INSTANTIATE_ROPE(float)
KILN_CUDA_INSTANTIATE_ROPE(bf16)
KILN_CUDA_INSTANTIATE_ROPE(f16)

}  // namespace kiln::kernels::cuda
