// Dropout on CUDA: one element per thread in a grid-stride loop. Element i keeps when
// uniform_from_bits(philox4x32(seed, offset + i).v[0]) >= p, exactly the CPU kernel's test
// (kernels/philox.h is host/device code), so CPU and CUDA drop the same elements. Philox's ten
// rounds of integer multiplies are cheap next to the memory traffic, so drawing per element
// needs no cleverer layout.
#include "kernels/cuda/convert.cuh"
#include "kernels/cuda/dropout.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/pack.cuh"
#include "kernels/philox.h"

namespace kiln::kernels::cuda {
namespace {

template <typename T>
__global__ void dropout_forward_kernel(const T* x, StridedLayout x_layout, T* out, uint8_t* mask,
                                       int64_t n, float p, float scale, uint64_t seed,
                                       uint64_t offset) {
  const bool contiguous = x_layout.is_contiguous();
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    const uint32_t bits = philox4x32(seed, offset + static_cast<uint64_t>(i)).v[0];
    const bool keep = uniform_from_bits(bits) >= p;
    mask[i] = keep ? 1 : 0;
    const float v = to_float(x[contiguous ? i : x_layout.offset_of(i)]);
    out[i] = convert<T>(keep ? v * scale : 0.0f);
  }
}

template <typename T>
__global__ void dropout_backward_kernel(const T* grad, const uint8_t* mask, T* grad_in, int64_t n,
                                        float scale) {
  for (int64_t i = global_thread(); i < n; i += grid_threads())
    grad_in[i] = convert<T>(mask[i] != 0 ? to_float(grad[i]) * scale : 0.0f);
}

}  // namespace

template <typename T>
void dropout_forward(const T* x, const StridedLayout& x_layout, T* out, uint8_t* mask, int64_t n,
                     float p, float scale, uint64_t seed, uint64_t offset, cudaStream_t stream) {
  if (n == 0) return;
  dropout_forward_kernel<<<grid_for(n), kBlockSize, 0, stream>>>(x, x_layout, out, mask, n, p,
                                                                 scale, seed, offset);
  KILN_CUDA_CHECK(cudaGetLastError());
}

template <typename T>
void dropout_backward(const T* grad, const uint8_t* mask, T* grad_in, int64_t n, float scale,
                      cudaStream_t stream) {
  if (n == 0) return;
  dropout_backward_kernel<<<grid_for(n), kBlockSize, 0, stream>>>(grad, mask, grad_in, n, scale);
  KILN_CUDA_CHECK(cudaGetLastError());
}

#define KILN_CUDA_INSTANTIATE_DROPOUT(T)                                                         \
  template void dropout_forward<T>(const T*, const StridedLayout&, T*, uint8_t*, int64_t, float, \
                                   float, uint64_t, uint64_t, cudaStream_t);                     \
  template void dropout_backward<T>(const T*, const uint8_t*, T*, int64_t, float, cudaStream_t);
KILN_CUDA_INSTANTIATE_DROPOUT(float)
KILN_CUDA_INSTANTIATE_DROPOUT(bf16)
KILN_CUDA_INSTANTIATE_DROPOUT(f16)

}  // namespace kiln::kernels::cuda
