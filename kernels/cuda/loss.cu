// Cross-entropy over rows of [rows, cols] logits, fused with its gradient.
//
// Three launches: a one-block count of the non-ignored targets (rows integers, tiny); the row
// kernel, one block per row (row_block_size threads, 16-byte packs), which reads the row once
// for a running (max, Σ exp) and, when the gradient is wanted, a second time from L1/L2 (a
// GPT-2 row of 50257 classes is 100 KB in bf16; the rows in flight fit in H100's L2) to write
// (softmax - onehot) / count, so no probability tensor is ever stored; and a one-block mean of
// the per-row losses in a fixed order, so the loss is the same bits on every run.
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/loss.h"
#include "kernels/cuda/row.cuh"

namespace kiln::kernels::cuda {
namespace {

constexpr int kReduceThreads = 1024;

template <typename I>
__global__ void count_targets_kernel(const I* targets, int64_t rows, int64_t ignore_index,
                                     float* count) {
  __shared__ int64_t scratch[32];
  int64_t n = 0;
  for (int64_t r = threadIdx.x; r < rows; r += blockDim.x)
    n += static_cast<int64_t>(targets[r]) != ignore_index ? 1 : 0;
  n = block_reduce(n, scratch, SumOp{}, int64_t{0});
  if (threadIdx.x == 0) *count = static_cast<float>(n);
}

// Forward (saved_lse null): computes lse and the row's loss. kGrad: writes dlogits, scaled by
// `scale` / *count, from the lse just computed or from saved_lse (the backward).
template <typename T, typename I, bool kGrad>
__global__ void cross_entropy_row_kernel(const T* logits, const I* targets, int64_t cols,
                                         int64_t ignore_index, const float* saved_lse,
                                         float* lse_out, float* row_loss, const float* count,
                                         float scale, T* dlogits) {
  __shared__ MaxSum scratch[32];
  const int64_t r = blockIdx.x;
  const T* xr = logits + r * cols;
  const int64_t t = static_cast<int64_t>(targets[r]);
  const bool counted = t != ignore_index;
  const bool in_range = t >= 0 && t < cols;
  float lse = 0.f;
  if (saved_lse == nullptr) {
    MaxSum acc{-INFINITY, 0.f};
    visit_row(xr, cols, true, [&](auto width, int64_t j) {
      constexpr int W = decltype(width)::value;
      float xv[W];
      load_pack<W>(xr + j, xv);
#pragma unroll
      for (int i = 0; i < W; ++i) add_value<T>(acc, xv[i]);
    });
    acc = block_reduce(acc, scratch);
    lse = acc.max + logf(acc.sum);
    if (threadIdx.x == 0) {
      lse_out[r] = lse;
      row_loss[r] = !counted ? 0.f : (in_range ? lse - to_float(xr[t]) : NAN);
    }
  } else {
    lse = saved_lse[r];
  }
  if constexpr (kGrad) {
    T* dr = dlogits + r * cols;
    const float s = counted ? (in_range ? scale / *count : NAN) : 0.f;
    visit_row(xr, cols, same_alignment(xr, dr), [&](auto width, int64_t j) {
      constexpr int W = decltype(width)::value;
      float xv[W], out[W];
      load_pack<W>(xr + j, xv);
#pragma unroll
      for (int i = 0; i < W; ++i) {
        const float p = exp_as<T>(xv[i] - lse) - (j + i == t ? 1.f : 0.f);
        out[i] = counted ? p * s : 0.f;
      }
      store_pack<W>(dr + j, out);
    });
  }
}

__global__ void mean_loss_kernel(const float* row_loss, int64_t rows, const float* count,
                                 float* loss) {
  __shared__ double scratch[32];
  double sum = 0.0;
  for (int64_t r = threadIdx.x; r < rows; r += blockDim.x) sum += row_loss[r];
  sum = block_reduce(sum, scratch, SumOp{}, 0.0);
  if (threadIdx.x == 0)
    *loss = *count > 0.f ? static_cast<float>(sum / static_cast<double>(*count)) : 0.f;
}

}  // namespace

template <typename T, typename I>
void cross_entropy_forward(const T* logits, const I* targets, int64_t rows, int64_t cols,
                           int64_t ignore_index, float* lse, float* count, float* row_loss,
                           float* loss, T* dlogits, cudaStream_t stream) {
  count_targets_kernel<I><<<1, kReduceThreads, 0, stream>>>(targets, rows, ignore_index, count);
  KILN_CUDA_CHECK(cudaGetLastError());
  if (rows > 0 && cols > 0) {
    const dim3 grid(static_cast<unsigned>(rows));
    const int threads = row_block_size(cols, kPack<T>);
    if (dlogits != nullptr) {
      cross_entropy_row_kernel<T, I, true><<<grid, threads, 0, stream>>>(
          logits, targets, cols, ignore_index, nullptr, lse, row_loss, count, 1.f, dlogits);
    } else {
      cross_entropy_row_kernel<T, I, false><<<grid, threads, 0, stream>>>(
          logits, targets, cols, ignore_index, nullptr, lse, row_loss, count, 1.f, dlogits);
    }
    KILN_CUDA_CHECK(cudaGetLastError());
  }
  mean_loss_kernel<<<1, kReduceThreads, 0, stream>>>(row_loss, rows, count, loss);
  KILN_CUDA_CHECK(cudaGetLastError());
}

template <typename T, typename I>
void cross_entropy_backward(const T* logits, const I* targets, const float* lse, const float* count,
                            double scale, int64_t rows, int64_t cols, int64_t ignore_index,
                            T* dlogits, cudaStream_t stream) {
  if (rows == 0 || cols == 0) return;
  cross_entropy_row_kernel<T, I, true>
      <<<static_cast<unsigned>(rows), row_block_size(cols, kPack<T>), 0, stream>>>(
          logits, targets, cols, ignore_index, lse, nullptr, nullptr, count,
          static_cast<float>(scale), dlogits);
  KILN_CUDA_CHECK(cudaGetLastError());
}

#define KILN_CUDA_INSTANTIATE_LOSS(T, I)                                                           \
  template void cross_entropy_forward<T, I>(const T*, const I*, int64_t, int64_t, int64_t, float*, \
                                            float*, float*, float*, T*, cudaStream_t);             \
  template void cross_entropy_backward<T, I>(const T*, const I*, const float*, const float*,       \
                                             double, int64_t, int64_t, int64_t, T*, cudaStream_t);
KILN_CUDA_INSTANTIATE_LOSS(float, int32_t)
KILN_CUDA_INSTANTIATE_LOSS(float, int64_t)
KILN_CUDA_INSTANTIATE_LOSS(bf16, int32_t)
KILN_CUDA_INSTANTIATE_LOSS(bf16, int64_t)
KILN_CUDA_INSTANTIATE_LOSS(f16, int32_t)
KILN_CUDA_INSTANTIATE_LOSS(f16, int64_t)

}  // namespace kiln::kernels::cuda
