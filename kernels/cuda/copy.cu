// copy_strided / fill on CUDA: one thread per element, grid-stride loop; the layouts are passed
// by value (kernel parameters) so index math stays in registers. Contiguous/contiguous copies
// of the same type are plain cudaMemcpyAsync.
#include "kernels/cuda/convert.cuh"
#include "kernels/cuda/copy.h"
#include "kernels/cuda/launch.cuh"

namespace kiln::kernels::cuda {
namespace {

template <typename Src, typename Dst>
__global__ void copy_strided_kernel(const Src* src, StridedLayout src_layout, Dst* dst,
                                    StridedLayout dst_layout, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    dst[dst_layout.offset_of(i)] = convert<Dst>(src[src_layout.offset_of(i)]);
  }
}

template <typename T>
__global__ void fill_kernel(T* dst, StridedLayout layout, T value, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    dst[layout.offset_of(i)] = value;
  }
}

}  // namespace

template <typename Src, typename Dst>
void copy_strided(const Src* src, const StridedLayout& src_layout, Dst* dst,
                  const StridedLayout& dst_layout, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  if constexpr (std::is_same_v<Src, Dst>) {
    if (src_layout.is_contiguous() && dst_layout.is_contiguous()) {
      KILN_CUDA_CHECK(cudaMemcpyAsync(dst, src, static_cast<size_t>(n) * sizeof(Src),
                                             cudaMemcpyDeviceToDevice, stream));
      return;
    }
  }
  copy_strided_kernel<<<grid_for(n), kBlockSize, 0, stream>>>(src, src_layout, dst, dst_layout, n);
  KILN_CUDA_CHECK(cudaGetLastError());
}

template <typename T>
void fill(T* dst, const StridedLayout& layout, T value, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  fill_kernel<<<grid_for(n), kBlockSize, 0, stream>>>(dst, layout, value, n);
  KILN_CUDA_CHECK(cudaGetLastError());
}

#define KILN_CUDA_INSTANTIATE_COPY(Dst, Src)                                   \
  template void copy_strided<Src, Dst>(const Src*, const StridedLayout&, Dst*, \
                                       const StridedLayout&, int64_t, cudaStream_t);
#define KILN_CUDA_INSTANTIATE_COPY_FROM(Src) \
  KILN_CUDA_INSTANTIATE_COPY(float, Src)     \
  KILN_CUDA_INSTANTIATE_COPY(double, Src)    \
  KILN_CUDA_INSTANTIATE_COPY(bf16, Src)      \
  KILN_CUDA_INSTANTIATE_COPY(f16, Src)       \
  KILN_CUDA_INSTANTIATE_COPY(int32_t, Src)   \
  KILN_CUDA_INSTANTIATE_COPY(int64_t, Src)   \
  KILN_CUDA_INSTANTIATE_COPY(uint8_t, Src)   \
  KILN_CUDA_INSTANTIATE_COPY(bool, Src)      \
  template void fill<Src>(Src*, const StridedLayout&, Src, int64_t, cudaStream_t);

KILN_CUDA_INSTANTIATE_COPY_FROM(float)
KILN_CUDA_INSTANTIATE_COPY_FROM(double)
KILN_CUDA_INSTANTIATE_COPY_FROM(bf16)
KILN_CUDA_INSTANTIATE_COPY_FROM(f16)
KILN_CUDA_INSTANTIATE_COPY_FROM(int32_t)
KILN_CUDA_INSTANTIATE_COPY_FROM(int64_t)
KILN_CUDA_INSTANTIATE_COPY_FROM(uint8_t)
KILN_CUDA_INSTANTIATE_COPY_FROM(bool)

}  // namespace kiln::kernels::cuda
