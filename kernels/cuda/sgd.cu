// SGD over a list of parameters in one launch: chunks of 64K elements, one 256-thread block
// each, one element per thread per iteration (SGD moves too few bytes per element for vector
// loads to matter next to AdamW; the accesses are coalesced either way).
#include "kernels/cuda/convert.cuh"
#include "kernels/cuda/multi_tensor.cuh"
#include "kernels/cuda/sgd.h"

namespace kiln::kernels::cuda {
namespace {

constexpr int kThreads = 256;

struct Coefficients {
  float lr, momentum, weight_decay, inv_grad_scale;
  bool nesterov;
};

template <typename T>
__global__ void __launch_bounds__(kThreads)
    sgd_kernel(const SGDTensor<T>* tensors, const ChunkRef* chunks, Coefficients c) {
  const ChunkRef ref = chunks[blockIdx.x];
  const SGDTensor<T> t = tensors[ref.tensor];
  const int64_t n = min(kChunkElements, t.n - ref.start);
  const float weight_decay = t.decay ? c.weight_decay : 0.f;
  for (int64_t i = ref.start + threadIdx.x; i < ref.start + n; i += kThreads) {
    const float p = t.master != nullptr ? t.master[i] : to_float(t.param[i]);
    float d = to_float(t.grad[i]) * c.inv_grad_scale;
    if (weight_decay != 0.f) d += weight_decay * p;
    if (t.momentum != nullptr) {
      const float buf = c.momentum * t.momentum[i] + d;
      t.momentum[i] = buf;
      d = c.nesterov ? d + c.momentum * buf : buf;
    }
    const float updated = p - c.lr * d;
    if (t.master != nullptr) t.master[i] = updated;
    t.param[i] = convert<T>(updated);
  }
}

}  // namespace

template <typename T>
int64_t sgd_workspace_bytes(const SGDTensor<T>* tensors, int64_t count) {
  return MultiTensorLayout<SGDTensor<T>>(tensors, count, 0).bytes;
}

template <typename T>
void sgd_step(const SGDTensor<T>* tensors, int64_t count, const SGDScalars& s, void* workspace,
              cudaStream_t stream) {
  const MultiTensorLayout<SGDTensor<T>> layout(tensors, count, 0);
  if (layout.chunks == 0) return;
  upload_multi_tensor(tensors, count, layout, workspace, stream);
  const Coefficients c{static_cast<float>(s.lr), static_cast<float>(s.momentum),
                       static_cast<float>(s.weight_decay), static_cast<float>(1.0 / s.grad_scale),
                       s.nesterov};
  auto* base = static_cast<unsigned char*>(workspace);
  sgd_kernel<T><<<static_cast<unsigned>(layout.chunks), kThreads, 0, stream>>>(
      reinterpret_cast<const SGDTensor<T>*>(base),
      reinterpret_cast<const ChunkRef*>(base + layout.chunk_offset), c);
  KILN_CUDA_CHECK(cudaGetLastError());
}

#define KILN_CUDA_INSTANTIATE_SGD(T)                                     \
  template int64_t sgd_workspace_bytes<T>(const SGDTensor<T>*, int64_t); \
  template void sgd_step<T>(const SGDTensor<T>*, int64_t, const SGDScalars&, void*, cudaStream_t);
KILN_CUDA_INSTANTIATE_SGD(float)
KILN_CUDA_INSTANTIATE_SGD(bf16)
KILN_CUDA_INSTANTIATE_SGD(f16)

}  // namespace kiln::kernels::cuda
