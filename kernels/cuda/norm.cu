// Layer norm and RMS norm, forward and backward, over rows of a contiguous [rows, cols] array.
//
// Forward: one block per row (row_block_size threads: about two 16-byte packs each). The row is
// read from memory once; the later passes (mean, then the centred variance, then y) re-read it
// from L1, which costs far less than the memory traffic and keeps one code path for every
// width, aligned or not, instead of a register cache per size. Statistics are f32.
//
// Backward: a fixed grid of P = min(rows, 4 x SMs) blocks, block b taking rows b, b + P, ...
// Each row: pass 1 reads x and g, sums g·w and g·w·x̂ for dx and adds g·x̂ (dweight) and g
// (dbias) into the block's own accumulator row; pass 2 writes dx. The accumulators sit in
// shared memory when they fit in 48 KiB, else in the block's row of the global workspace; either
// way the block owns them, so there are no atomics. A second kernel adds the P partial rows in
// block order, so the gradients are the same bits on every run.
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/norm.h"
#include "kernels/cuda/row.cuh"

namespace kiln::kernels::cuda {
namespace {

// A launch may use 48 KiB of shared memory without opting in, static and dynamic together; the
// backward's static reduction scratch (32 floats) comes out of that.
constexpr int64_t kSharedAccumulatorBytes = 48 * 1024 - 32 * sizeof(float);

template <int W, typename T>
__device__ inline void load_or_one(const T* p, int64_t j, float (&out)[W]) {
  if (p != nullptr) {
    load_pack<W>(p + j, out);
  } else {
#pragma unroll
    for (int i = 0; i < W; ++i) out[i] = 1.f;
  }
}

template <typename T, bool kRms>
__global__ void norm_forward_kernel(const T* x, const T* weight, const T* bias, T* y, float* mean,
                                    float* rstd, int64_t cols, float eps) {
  __shared__ float scratch[32];
  const int64_t r = blockIdx.x;
  const T* xr = x + r * cols;
  T* yr = y + r * cols;
  const bool vectorize =
      same_alignment(xr, yr) && same_alignment(xr, weight) && same_alignment(xr, bias);
  const float inv_cols = 1.f / static_cast<float>(cols);
  float mu = 0.f;
  if constexpr (!kRms) {
    float sum = 0.f;
    visit_row(xr, cols, vectorize, [&](auto width, int64_t j) {
      constexpr int W = decltype(width)::value;
      float xv[W];
      load_pack<W>(xr + j, xv);
#pragma unroll
      for (int i = 0; i < W; ++i) sum += xv[i];
    });
    mu = block_reduce(sum, scratch, SumOp{}, 0.f) * inv_cols;
  }
  float squares = 0.f;
  visit_row(xr, cols, vectorize, [&](auto width, int64_t j) {
    constexpr int W = decltype(width)::value;
    float xv[W];
    load_pack<W>(xr + j, xv);
#pragma unroll
    for (int i = 0; i < W; ++i) squares += (xv[i] - mu) * (xv[i] - mu);
  });
  const float s = 1.f / sqrtf(block_reduce(squares, scratch, SumOp{}, 0.f) * inv_cols + eps);
  if (threadIdx.x == 0) {
    if constexpr (!kRms) mean[r] = mu;
    rstd[r] = s;
  }
  visit_row(xr, cols, vectorize, [&](auto width, int64_t j) {
    constexpr int W = decltype(width)::value;
    float xv[W], wv[W], out[W];
    load_pack<W>(xr + j, xv);
    load_or_one<W>(weight, j, wv);
#pragma unroll
    for (int i = 0; i < W; ++i) out[i] = (xv[i] - mu) * s * wv[i];
    if (bias != nullptr) {
      float bv[W];
      load_pack<W>(bias + j, bv);
#pragma unroll
      for (int i = 0; i < W; ++i) out[i] += bv[i];
    }
    store_pack<W>(yr + j, out);
  });
}

// partial: gridDim.x rows of `accumulators` x cols floats (dweight first, then dbias).
template <typename T, bool kRms>
__global__ void norm_backward_kernel(const T* x, const T* weight, const float* mean,
                                     const float* rstd, const T* g, T* dx, float* partial,
                                     bool want_dweight, bool want_dbias, bool shared_accumulators,
                                     int64_t rows, int64_t cols) {
  extern __shared__ float shared_acc[];
  __shared__ float scratch[32];
  const int accumulators = static_cast<int>(want_dweight) + static_cast<int>(want_dbias);
  float* block_partial =
      accumulators > 0 ? partial + static_cast<int64_t>(blockIdx.x) * accumulators * cols : nullptr;
  float* acc = shared_accumulators ? shared_acc : block_partial;
  for (int64_t j = threadIdx.x; j < accumulators * cols; j += blockDim.x) acc[j] = 0.f;
  __syncthreads();
  float* acc_dw = want_dweight ? acc : nullptr;
  float* acc_db = want_dbias ? acc + (want_dweight ? cols : 0) : nullptr;
  const float inv_cols = 1.f / static_cast<float>(cols);

  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * cols;
    const T* gr = g + r * cols;
    T* dxr = dx != nullptr ? dx + r * cols : nullptr;
    const float mu = kRms ? 0.f : mean[r];
    const float s = rstd[r];
    const bool vectorize =
        same_alignment(xr, gr) && same_alignment(xr, weight) && same_alignment(xr, dxr);
    float sum_gy = 0.f, sum_gy_xhat = 0.f;
    visit_row(xr, cols, vectorize, [&](auto width, int64_t j) {
      constexpr int W = decltype(width)::value;
      float xv[W], gv[W], wv[W];
      load_pack<W>(xr + j, xv);
      load_pack<W>(gr + j, gv);
      load_or_one<W>(weight, j, wv);
#pragma unroll
      for (int i = 0; i < W; ++i) {
        const float xhat = (xv[i] - mu) * s;
        const float gy = gv[i] * wv[i];
        sum_gy += gy;
        sum_gy_xhat += gy * xhat;
        if (acc_dw != nullptr) acc_dw[j + i] += gv[i] * xhat;
        if (acc_db != nullptr) acc_db[j + i] += gv[i];
      }
    });
    if (dxr != nullptr) {
      const float mean_gy = kRms ? 0.f : block_reduce(sum_gy, scratch, SumOp{}, 0.f) * inv_cols;
      const float mean_gy_xhat = block_reduce(sum_gy_xhat, scratch, SumOp{}, 0.f) * inv_cols;
      visit_row(xr, cols, vectorize, [&](auto width, int64_t j) {
        constexpr int W = decltype(width)::value;
        float xv[W], gv[W], wv[W], out[W];
        load_pack<W>(xr + j, xv);
        load_pack<W>(gr + j, gv);
        load_or_one<W>(weight, j, wv);
#pragma unroll
        for (int i = 0; i < W; ++i) {
          const float xhat = (xv[i] - mu) * s;
          out[i] = s * (gv[i] * wv[i] - mean_gy - xhat * mean_gy_xhat);
        }
        store_pack<W>(dxr + j, out);
      });
    }
    // The next row may hand an accumulator element to another thread (its head differs).
    if (accumulators > 0) __syncthreads();
  }
  if (shared_accumulators) {
    for (int64_t j = threadIdx.x; j < accumulators * cols; j += blockDim.x)
      block_partial[j] = shared_acc[j];
  }
}

// Adds the partial rows column by column in block order.
template <typename T>
__global__ void sum_partials_kernel(const float* partial, int64_t blocks, int64_t cols, T* dweight,
                                    T* dbias) {
  const int64_t width = (dweight != nullptr ? cols : 0) + (dbias != nullptr ? cols : 0);
  for (int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; j < width;
       j += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    double sum = 0.0;
    for (int64_t b = 0; b < blocks; ++b) sum += partial[b * width + j];
    if (dweight != nullptr && j < cols) {
      dweight[j] = convert<T>(static_cast<float>(sum));
    } else {
      dbias[j - (dweight != nullptr ? cols : 0)] = convert<T>(static_cast<float>(sum));
    }
  }
}

int64_t backward_blocks(int64_t rows) {
  int device = 0;
  int sms = 0;
  KILN_CUDA_CHECK(cudaGetDevice(&device));
  KILN_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  return std::max<int64_t>(1, std::min<int64_t>(rows, 4 * static_cast<int64_t>(sms)));
}

template <typename T, bool kRms>
void norm_forward(const T* x, const T* weight, const T* bias, T* y, float* mean, float* rstd,
                  int64_t rows, int64_t cols, double eps, cudaStream_t stream) {
  if (rows == 0) return;
  if (cols == 0) {
    // The CPU's convention for empty rows: statistics of 0.
    if (mean != nullptr)
      KILN_CUDA_CHECK(cudaMemsetAsync(mean, 0, sizeof(float) * rows, stream));
    KILN_CUDA_CHECK(cudaMemsetAsync(rstd, 0, sizeof(float) * rows, stream));
    return;
  }
  norm_forward_kernel<T, kRms>
      <<<static_cast<unsigned>(rows), row_block_size(cols, kPack<T>), 0, stream>>>(
          x, weight, bias, y, mean, rstd, cols, static_cast<float>(eps));
  KILN_CUDA_CHECK(cudaGetLastError());
}

template <typename T, bool kRms>
void norm_backward(const T* x, const T* weight, const float* mean, const float* rstd, const T* g,
                   T* dx, T* dweight, T* dbias, float* workspace, int64_t rows, int64_t cols,
                   cudaStream_t stream) {
  if (cols == 0) return;
  const int accumulators = (dweight != nullptr ? 1 : 0) + (dbias != nullptr ? 1 : 0);
  if (dx == nullptr && accumulators == 0) return;
  const int64_t blocks = backward_blocks(rows);
  const int64_t acc_bytes = static_cast<int64_t>(sizeof(float)) * accumulators * cols;
  const bool shared = acc_bytes <= kSharedAccumulatorBytes;
  norm_backward_kernel<T, kRms><<<static_cast<unsigned>(blocks), row_block_size(cols, kPack<T>),
                                  shared ? static_cast<size_t>(acc_bytes) : 0, stream>>>(
      x, weight, mean, rstd, g, dx, workspace, dweight != nullptr, dbias != nullptr, shared, rows,
      cols);
  KILN_CUDA_CHECK(cudaGetLastError());
  if (accumulators == 0) return;
  sum_partials_kernel<T><<<grid_for(accumulators * cols), kBlockSize, 0, stream>>>(
      workspace, blocks, cols, dweight, dbias);
  KILN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

int64_t norm_backward_workspace(int64_t rows, int64_t cols, int parameter_grads) {
  if (parameter_grads == 0 || cols == 0) return 0;
  return backward_blocks(rows) * parameter_grads * cols;
}

template <typename T>
void layer_norm_forward(const T* x, const T* weight, const T* bias, T* y, float* mean, float* rstd,
                        int64_t rows, int64_t cols, double eps, cudaStream_t stream) {
  norm_forward<T, false>(x, weight, bias, y, mean, rstd, rows, cols, eps, stream);
}

template <typename T>
void rms_norm_forward(const T* x, const T* weight, T* y, float* rstd, int64_t rows, int64_t cols,
                      double eps, cudaStream_t stream) {
  norm_forward<T, true>(x, weight, static_cast<const T*>(nullptr), y, nullptr, rstd, rows, cols,
                        eps, stream);
}

template <typename T>
void layer_norm_backward(const T* x, const T* weight, const float* mean, const float* rstd,
                         const T* g, T* dx, T* dweight, T* dbias, float* workspace, int64_t rows,
                         int64_t cols, cudaStream_t stream) {
  norm_backward<T, false>(x, weight, mean, rstd, g, dx, dweight, dbias, workspace, rows, cols,
                          stream);
}

template <typename T>
void rms_norm_backward(const T* x, const T* weight, const float* rstd, const T* g, T* dx,
                       T* dweight, float* workspace, int64_t rows, int64_t cols,
                       cudaStream_t stream) {
  norm_backward<T, true>(x, weight, nullptr, rstd, g, dx, dweight, static_cast<T*>(nullptr),
                         workspace, rows, cols, stream);
}

#define KILN_CUDA_INSTANTIATE_NORM(T)                                                            \
  template void layer_norm_forward<T>(const T*, const T*, const T*, T*, float*, float*, int64_t, \
                                      int64_t, double, cudaStream_t);                            \
  template void rms_norm_forward<T>(const T*, const T*, T*, float*, int64_t, int64_t, double,    \
                                    cudaStream_t);                                               \
  template void layer_norm_backward<T>(const T*, const T*, const float*, const float*, const T*, \
                                       T*, T*, T*, float*, int64_t, int64_t, cudaStream_t);      \
  template void rms_norm_backward<T>(const T*, const T*, const float*, const T*, T*, T*, float*, \
                                     int64_t, int64_t, cudaStream_t);
KILN_CUDA_INSTANTIATE_NORM(float)
KILN_CUDA_INSTANTIATE_NORM(bf16)
KILN_CUDA_INSTANTIATE_NORM(f16)

}  // namespace kiln::kernels::cuda
