// Global gradient norm and in-place scaling over all gradients in one launch each.
// sum_of_squares: chunks of 64K elements, one 256-thread block each, squares summed in double
// per thread, reduced per block into a partial per chunk; then one 1024-thread block adds the
// partials in a fixed order. No atomics, so the norm is deterministic. scale_: the same chunks,
// one element per thread per iteration.
#include "kernels/cuda/convert.cuh"
#include "kernels/cuda/grad_clip.h"
#include "kernels/cuda/multi_tensor.cuh"
#include "kernels/cuda/row.cuh"

namespace kiln::kernels::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kFinalThreads = 1024;

template <typename T>
__global__ void __launch_bounds__(kThreads)
    partial_squares_kernel(const GradTensor<T>* tensors, const ChunkRef* chunks, double* partial) {
  __shared__ double scratch[32];
  const ChunkRef ref = chunks[blockIdx.x];
  const GradTensor<T> t = tensors[ref.tensor];
  const int64_t end = ref.start + min(kChunkElements, t.n - ref.start);
  double acc = 0.0;
  for (int64_t i = ref.start + threadIdx.x; i < end; i += kThreads) {
    const double v = to_float(t.data[i]);
    acc += v * v;
  }
  acc = block_reduce(acc, scratch, SumOp{}, 0.0);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

__global__ void __launch_bounds__(kFinalThreads)
    sum_partials_kernel(const double* partial, int64_t n, double* result) {
  __shared__ double scratch[32];
  double acc = 0.0;
  for (int64_t i = threadIdx.x; i < n; i += kFinalThreads) acc += partial[i];
  acc = block_reduce(acc, scratch, SumOp{}, 0.0);
  if (threadIdx.x == 0) *result = acc;
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    scale_kernel(const GradTensor<T>* tensors, const ChunkRef* chunks, float scale) {
  const ChunkRef ref = chunks[blockIdx.x];
  const GradTensor<T> t = tensors[ref.tensor];
  const int64_t end = ref.start + min(kChunkElements, t.n - ref.start);
  for (int64_t i = ref.start + threadIdx.x; i < end; i += kThreads)
    t.data[i] = convert<T>(to_float(t.data[i]) * scale);
}

}  // namespace

template <typename T>
int64_t grad_workspace_bytes(const GradTensor<T>* tensors, int64_t count) {
  return MultiTensorLayout<GradTensor<T>>(tensors, count, sizeof(double)).bytes;
}

template <typename T>
void sum_of_squares(const GradTensor<T>* tensors, int64_t count, double* result, void* workspace,
                    cudaStream_t stream) {
  const MultiTensorLayout<GradTensor<T>> layout(tensors, count, sizeof(double));
  auto* base = static_cast<unsigned char*>(workspace);
  auto* partial = reinterpret_cast<double*>(base + layout.extra_offset);
  if (layout.chunks > 0) {
    upload_multi_tensor(tensors, count, layout, workspace, stream);
    partial_squares_kernel<T><<<static_cast<unsigned>(layout.chunks), kThreads, 0, stream>>>(
        reinterpret_cast<const GradTensor<T>*>(base),
        reinterpret_cast<const ChunkRef*>(base + layout.chunk_offset), partial);
    KILN_CUDA_CHECK(cudaGetLastError());
  }
  sum_partials_kernel<<<1, kFinalThreads, 0, stream>>>(partial, layout.chunks, result);
  KILN_CUDA_CHECK(cudaGetLastError());
}

template <typename T>
void scale_(const GradTensor<T>* tensors, int64_t count, double scale, void* workspace,
            cudaStream_t stream) {
  const MultiTensorLayout<GradTensor<T>> layout(tensors, count, sizeof(double));
  if (layout.chunks == 0) return;
  upload_multi_tensor(tensors, count, layout, workspace, stream);
  auto* base = static_cast<unsigned char*>(workspace);
  scale_kernel<T><<<static_cast<unsigned>(layout.chunks), kThreads, 0, stream>>>(
      reinterpret_cast<const GradTensor<T>*>(base),
      reinterpret_cast<const ChunkRef*>(base + layout.chunk_offset), static_cast<float>(scale));
  KILN_CUDA_CHECK(cudaGetLastError());
}

#define KILN_CUDA_INSTANTIATE_GRAD_CLIP(T)                                                      \
  template int64_t grad_workspace_bytes<T>(const GradTensor<T>*, int64_t);                      \
  template void sum_of_squares<T>(const GradTensor<T>*, int64_t, double*, void*, cudaStream_t); \
  template void scale_<T>(const GradTensor<T>*, int64_t, double, void*, cudaStream_t);
KILN_CUDA_INSTANTIATE_GRAD_CLIP(float)
KILN_CUDA_INSTANTIATE_GRAD_CLIP(bf16)
KILN_CUDA_INSTANTIATE_GRAD_CLIP(f16)

}  // namespace kiln::kernels::cuda
