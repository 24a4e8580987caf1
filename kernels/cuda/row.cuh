#pragma once
// Building blocks of the row kernels (norm, softmax, cross-entropy): one block per row, each
// thread visiting its share of the row in 16-byte packs, f32 block reductions over warp
// shuffles.
//
// A row is visited as `head` single elements up to its first 16-byte boundary, then packs of
// 16 / sizeof(T) elements (one vector load each), then single elements of the tail. Rows of odd
// width (GPT-2's 50257 classes) thus still move most of their bytes in vector loads. Every
// array read or written at the same indices in one visit must share the row's alignment
// (same_alignment); otherwise the kernel visits element by element.
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/convert.cuh"
#include "kernels/cuda/pack.cuh"
#include "kernels/cuda/warp.cuh"

namespace kiln::kernels::cuda {

template <typename T>
constexpr int kPack = static_cast<int>(16 / sizeof(T));

template <int W, typename T>
__device__ inline void load_pack(const T* p, float (&out)[W]) {
  const Pack<T, W> pack = *reinterpret_cast<const Pack<T, W>*>(p);
#pragma unroll
  for (int i = 0; i < W; ++i) out[i] = to_float(pack.v[i]);
}

template <int W, typename T>
__device__ inline void store_pack(T* p, const float (&in)[W]) {
  Pack<T, W> pack;
#pragma unroll
  for (int i = 0; i < W; ++i) pack.v[i] = convert<T>(in[i]);
  *reinterpret_cast<Pack<T, W>*>(p) = pack;
}

// Elements of T before p's next 16-byte boundary.
template <typename T>
__device__ inline int64_t head_of(const T* p) {
  return static_cast<int64_t>(((16 - (reinterpret_cast<uintptr_t>(p) & 15)) & 15) / sizeof(T));
}

// True when `p` is null or starts at the same offset within 16 bytes as `row`.
__device__ inline bool same_alignment(const void* row, const void* p) {
  return p == nullptr ||
         (reinterpret_cast<uintptr_t>(row) & 15) == (reinterpret_cast<uintptr_t>(p) & 15);
}

template <int W>
using Width = std::integral_constant<int, W>;

// Calls f(Width<w>{}, j) for the elements [j, j + w) of [0, n) that this thread owns.
// `first` is any array of the visit (its alignment decides the head).
template <typename T, typename F>
__device__ inline void visit_row(const T* first, int64_t n, bool vectorize, F&& f) {
  constexpr int P = kPack<T>;
  const int64_t tid = threadIdx.x;
  const int64_t threads = blockDim.x;
  if (!vectorize) {
    for (int64_t j = tid; j < n; j += threads) f(Width<1>{}, j);
    return;
  }
  const int64_t head = head_of(first) < n ? head_of(first) : n;
  const int64_t packs = (n - head) / P;
  for (int64_t j = tid; j < head; j += threads) f(Width<1>{}, j);
  for (int64_t k = tid; k < packs; k += threads) f(Width<P>{}, head + k * P);
  for (int64_t j = head + packs * P + tid; j < n; j += threads) f(Width<1>{}, j);
}

// The reduction over the whole block, returned to every thread (all threads reduce the same
// values in the same order, so they agree bit for bit). `scratch` is 32 values of shared
// memory; the leading barrier lets consecutive calls reuse it. blockDim.x is a multiple of 32.
template <typename V, typename Op>
__device__ inline V block_reduce(V v, V* scratch, Op op, V identity) {
  v = warp_reduce(v, op);
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < static_cast<int>(blockDim.x >> 5) ? scratch[lane] : identity;
  return warp_reduce(v, op);
}

// exp as precise as T needs: the accurate expf for f32 results (the f32 tolerance is 1e-5),
// the hardware approximation (a few ulp of f32) for 16-bit ones, where it is far below their
// rounding.
template <typename T>
__device__ inline float exp_as(float x) {
  if constexpr (std::is_same_v<T, float>) {
    return expf(x);
  } else {
    return __expf(x);
  }
}

// A running softmax denominator: sum = Σ exp(x - max) over the values seen.
struct MaxSum {
  float max;
  float sum;
};

__device__ inline MaxSum merge(MaxSum a, MaxSum b) {
  const float m = fmaxf(a.max, b.max);
  if (m == -INFINITY) return {m, 0.f};
  return {m, a.sum * expf(a.max - m) + b.sum * expf(b.max - m)};
}

template <typename T>
__device__ inline void add_value(MaxSum& acc, float v) {
  if (v > acc.max) {
    acc.sum = acc.sum * exp_as<T>(acc.max - v) + 1.f;
    acc.max = v;
  } else if (v != -INFINITY) {  // -inf adds nothing (and -inf - -inf would be NaN)
    acc.sum += exp_as<T>(v - acc.max);
  }
}

// Block-wide merge of every thread's MaxSum, returned to all threads.
__device__ inline MaxSum block_reduce(MaxSum v, MaxSum* scratch) {
  auto warp_merge = [](MaxSum x) {
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) {
      const MaxSum other{__shfl_xor_sync(0xffffffffu, x.max, offset),
                         __shfl_xor_sync(0xffffffffu, x.sum, offset)};
      x = merge(x, other);
    }
    return x;
  };
  v = warp_merge(v);
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < static_cast<int>(blockDim.x >> 5) ? scratch[lane] : MaxSum{-INFINITY, 0.f};
  return warp_merge(v);
}

// Threads per row block: about two packs per thread, a power of two from one warp to 1024.
inline int row_block_size(int64_t cols, int pack) {
  const int64_t wanted = (cols + 2 * pack - 1) / (2 * pack);
  int threads = 32;
  while (threads < wanted && threads < 1024) threads *= 2;
  return threads;
}

}  // namespace kiln::kernels::cuda
