// Softmax and log-softmax over rows of a contiguous [rows, cols] array, forward and backward,
// with the CPU's bottom-right causal mask (row r is query i = r mod tq; keys j > i + cols - tq
// are masked).
//
// One block per row, row_block_size threads (about two 16-byte packs each). Forward: one pass
// keeps a running (max, Σ exp(x - max)) per thread, merged across the block, so the row is read
// from memory once; a second pass, served from L1/L2, writes y. Backward: one pass for the row's
// dot product (Σ g·y, or Σ g for log-softmax), a second to write dx. Memory traffic is one read
// per input and one write, as in a copy; the masked tail is written without being read.
#include "kernels/causal_mask.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/row.cuh"
#include "kernels/cuda/softmax.h"

namespace kiln::kernels::cuda {
namespace {

template <typename T, bool kLog>
__global__ void softmax_forward_kernel(const T* x, T* y, int64_t cols, bool causal, int64_t tq) {
  __shared__ MaxSum scratch[32];
  const int64_t r = blockIdx.x;
  const T* xr = x + r * cols;
  T* yr = y + r * cols;
  const int64_t n = causal_valid_cols(r, cols, causal, tq);
  const bool vectorize = same_alignment(xr, yr);
  MaxSum acc{-INFINITY, 0.f};
  visit_row(xr, n, vectorize, [&](auto width, int64_t j) {
    constexpr int W = decltype(width)::value;
    float xv[W];
    load_pack<W>(xr + j, xv);
#pragma unroll
    for (int i = 0; i < W; ++i) add_value<T>(acc, xv[i]);
  });
  acc = block_reduce(acc, scratch);
  const float inv_sum = 1.f / acc.sum;
  const float log_sum = logf(acc.sum);
  const float masked = kLog ? -INFINITY : 0.f;
  visit_row(xr, cols, vectorize, [&](auto width, int64_t j) {
    constexpr int W = decltype(width)::value;
    float xv[W], out[W];
    if (j + W <= n) {
      load_pack<W>(xr + j, xv);
    } else {
#pragma unroll
      for (int i = 0; i < W; ++i) xv[i] = j + i < n ? to_float(xr[j + i]) : 0.f;
    }
#pragma unroll
    for (int i = 0; i < W; ++i) {
      const float shifted = xv[i] - acc.max;
      out[i] = j + i >= n ? masked : (kLog ? shifted - log_sum : exp_as<T>(shifted) * inv_sum);
    }
    store_pack<W>(yr + j, out);
  });
}

template <typename T, bool kLog>
__global__ void softmax_backward_kernel(const T* y, const T* g, T* dx, int64_t cols, bool causal,
                                        int64_t tq) {
  __shared__ float scratch[32];
  const int64_t r = blockIdx.x;
  const T* yr = y + r * cols;
  const T* gr = g + r * cols;
  T* dxr = dx + r * cols;
  const int64_t n = causal_valid_cols(r, cols, causal, tq);
  const bool vectorize = same_alignment(yr, gr) && same_alignment(yr, dxr);
  float dot = 0.f;
  visit_row(yr, n, vectorize, [&](auto width, int64_t j) {
    constexpr int W = decltype(width)::value;
    float gv[W];
    load_pack<W>(gr + j, gv);
    if constexpr (kLog) {
#pragma unroll
      for (int i = 0; i < W; ++i) dot += gv[i];
    } else {
      float yv[W];
      load_pack<W>(yr + j, yv);
#pragma unroll
      for (int i = 0; i < W; ++i) dot += gv[i] * yv[i];
    }
  });
  dot = block_reduce(dot, scratch, SumOp{}, 0.f);
  visit_row(yr, cols, vectorize, [&](auto width, int64_t j) {
    constexpr int W = decltype(width)::value;
    float yv[W], gv[W], out[W];
    if (j + W <= n) {
      load_pack<W>(yr + j, yv);
      load_pack<W>(gr + j, gv);
    } else {
#pragma unroll
      for (int i = 0; i < W; ++i) {
        yv[i] = j + i < n ? to_float(yr[j + i]) : 0.f;
        gv[i] = j + i < n ? to_float(gr[j + i]) : 0.f;
      }
    }
#pragma unroll
    for (int i = 0; i < W; ++i) {
      const float d = kLog ? gv[i] - exp_as<T>(yv[i]) * dot : yv[i] * (gv[i] - dot);
      out[i] = j + i < n ? d : 0.f;
    }
    store_pack<W>(dxr + j, out);
  });
}

template <typename T, bool kLog>
void forward(const T* x, T* y, int64_t rows, int64_t cols, bool causal, int64_t tq,
             cudaStream_t stream) {
  if (rows == 0 || cols == 0) return;
  softmax_forward_kernel<T, kLog>
      <<<static_cast<unsigned>(rows), row_block_size(cols, kPack<T>), 0, stream>>>(x, y, cols,
                                                                                   causal, tq);
  KILN_CUDA_CHECK(cudaGetLastError());
}

template <typename T, bool kLog>
void backward(const T* y, const T* g, T* dx, int64_t rows, int64_t cols, bool causal, int64_t tq,
              cudaStream_t stream) {
  if (rows == 0 || cols == 0) return;
  softmax_backward_kernel<T, kLog>
      <<<static_cast<unsigned>(rows), row_block_size(cols, kPack<T>), 0, stream>>>(y, g, dx, cols,
                                                                                   causal, tq);
  KILN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

template <typename T>
void softmax_forward(const T* x, T* y, int64_t rows, int64_t cols, bool causal, int64_t tq,
                     cudaStream_t stream) {
  forward<T, false>(x, y, rows, cols, causal, tq, stream);
}

template <typename T>
void log_softmax_forward(const T* x, T* y, int64_t rows, int64_t cols, bool causal, int64_t tq,
                         cudaStream_t stream) {
  forward<T, true>(x, y, rows, cols, causal, tq, stream);
}

template <typename T>
void softmax_backward(const T* y, const T* g, T* dx, int64_t rows, int64_t cols, bool causal,
                      int64_t tq, cudaStream_t stream) {
  backward<T, false>(y, g, dx, rows, cols, causal, tq, stream);
}

template <typename T>
void log_softmax_backward(const T* y, const T* g, T* dx, int64_t rows, int64_t cols, bool causal,
                          int64_t tq, cudaStream_t stream) {
  backward<T, true>(y, g, dx, rows, cols, causal, tq, stream);
}

#define KILN_CUDA_INSTANTIATE_SOFTMAX(T)                                                         \
  template void softmax_forward<T>(const T*, T*, int64_t, int64_t, bool, int64_t, cudaStream_t); \
  template void log_softmax_forward<T>(const T*, T*, int64_t, int64_t, bool, int64_t,            \
                                       cudaStream_t);                                            \
  template void softmax_backward<T>(const T*, const T*, T*, int64_t, int64_t, bool, int64_t,     \
                                    cudaStream_t);                                               \
  template void log_softmax_backward<T>(const T*, const T*, T*, int64_t, int64_t, bool, int64_t, \
                                        cudaStream_t);
KILN_CUDA_INSTANTIATE_SOFTMAX(float)
KILN_CUDA_INSTANTIATE_SOFTMAX(bf16)
KILN_CUDA_INSTANTIATE_SOFTMAX(f16)

}  // namespace kiln::kernels::cuda
