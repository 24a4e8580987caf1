// AdamW over a list of parameters in one launch. The list is cut into chunks of 64K elements,
// one 256-thread block each (a GPT-2-small step is ~1900 blocks); each thread updates 4
// consecutive elements per iteration with vector loads (16 bytes of each f32 array, 8 of a bf16
// one), falling back to scalar accesses for a misaligned tensor or a ragged end. Memory traffic
// is the minimum: every array read once and the updated ones written once (30 bytes per
// bf16 parameter with its master copy and moments), all in one pass.
#include "kernels/cuda/adamw.h"

#include <cmath>

#include "kernels/cuda/multi_tensor.cuh"
#include "kernels/cuda/row.cuh"

namespace kiln::kernels::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWidth = 4;

// The scalars rounded to f32 once on the host, as the CPU kernel rounds them.
struct Coefficients {
  float decay, beta1, beta2, one_minus_beta1, one_minus_beta2, step_size, bias_correction2_sqrt,
      eps, inv_grad_scale;

  __device__ float update(float p, float grad, float& exp_avg, float& exp_avg_sq,
                          bool decays) const {
    const float g = grad * inv_grad_scale;
    const float m = beta1 * exp_avg + one_minus_beta1 * g;
    const float v = beta2 * exp_avg_sq + one_minus_beta2 * g * g;
    exp_avg = m;
    exp_avg_sq = v;
    const float denom = sqrtf(v) / bias_correction2_sqrt + eps;
    return p * (decays ? decay : 1.f) - step_size * (m / denom);
  }
};

__device__ inline bool aligned(const void* p, int bytes) {
  return p == nullptr || reinterpret_cast<uintptr_t>(p) % bytes == 0;
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    adamw_kernel(const AdamWTensor<T>* tensors, const ChunkRef* chunks, Coefficients c) {
  const ChunkRef ref = chunks[blockIdx.x];
  const AdamWTensor<T> t = tensors[ref.tensor];
  const int64_t n = min(kChunkElements, t.n - ref.start);
  T* param = t.param + ref.start;
  const T* grad = t.grad + ref.start;
  float* m = t.exp_avg + ref.start;
  float* v = t.exp_avg_sq + ref.start;
  float* master = t.master != nullptr ? t.master + ref.start : nullptr;
  const bool vectorize = aligned(param, kWidth * sizeof(T)) && aligned(grad, kWidth * sizeof(T)) &&
                         aligned(m, 16) && aligned(v, 16) && aligned(master, 16);
  for (int64_t i = threadIdx.x * kWidth; i < n; i += kThreads * kWidth) {
    if (vectorize && i + kWidth <= n) {
      float p[kWidth], g[kWidth], mv[kWidth], vv[kWidth];
      if (master != nullptr) {
        load_pack<kWidth>(master + i, p);
      } else {
        load_pack<kWidth>(param + i, p);
      }
      load_pack<kWidth>(grad + i, g);
      load_pack<kWidth>(m + i, mv);
      load_pack<kWidth>(v + i, vv);
#pragma unroll
      for (int k = 0; k < kWidth; ++k) p[k] = c.update(p[k], g[k], mv[k], vv[k], t.decay);
      store_pack<kWidth>(m + i, mv);
      store_pack<kWidth>(v + i, vv);
      if (master != nullptr) store_pack<kWidth>(master + i, p);
      store_pack<kWidth>(param + i, p);
    } else {
      for (int64_t k = i; k < i + kWidth && k < n; ++k) {
        const float p = c.update(master != nullptr ? master[k] : to_float(param[k]),
                                 to_float(grad[k]), m[k], v[k], t.decay);
        if (master != nullptr) master[k] = p;
        param[k] = convert<T>(p);
      }
    }
  }
}

}  // namespace

template <typename T>
int64_t adamw_workspace_bytes(const AdamWTensor<T>* tensors, int64_t count) {
  return MultiTensorLayout<AdamWTensor<T>>(tensors, count, 0).bytes;
}

template <typename T>
void adamw_step(const AdamWTensor<T>* tensors, int64_t count, const AdamWScalars& s,
                void* workspace, cudaStream_t stream) {
  const MultiTensorLayout<AdamWTensor<T>> layout(tensors, count, 0);
  if (layout.chunks == 0) return;
  upload_multi_tensor(tensors, count, layout, workspace, stream);
  const Coefficients c{static_cast<float>(1.0 - s.lr * s.weight_decay),
                       static_cast<float>(s.beta1),
                       static_cast<float>(s.beta2),
                       static_cast<float>(1.0 - s.beta1),
                       static_cast<float>(1.0 - s.beta2),
                       static_cast<float>(s.lr / s.bias_correction1),
                       static_cast<float>(std::sqrt(s.bias_correction2)),
                       static_cast<float>(s.eps),
                       static_cast<float>(1.0 / s.grad_scale)};
  auto* base = static_cast<unsigned char*>(workspace);
  adamw_kernel<T><<<static_cast<unsigned>(layout.chunks), kThreads, 0, stream>>>(
      reinterpret_cast<const AdamWTensor<T>*>(base),
      reinterpret_cast<const ChunkRef*>(base + layout.chunk_offset), c);
  KILN_CUDA_CHECK(cudaGetLastError());
}

#define KILN_CUDA_INSTANTIATE_ADAMW(T)                                                    \
  template int64_t adamw_workspace_bytes<T>(const AdamWTensor<T>*, int64_t);              \
  template void adamw_step<T>(const AdamWTensor<T>*, int64_t, const AdamWScalars&, void*, \
                              cudaStream_t);
KILN_CUDA_INSTANTIATE_ADAMW(float)
KILN_CUDA_INSTANTIATE_ADAMW(bf16)
KILN_CUDA_INSTANTIATE_ADAMW(f16)

}  // namespace kiln::kernels::cuda
