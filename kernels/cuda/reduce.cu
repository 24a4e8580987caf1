// Reductions (sum, max with argmax) on CUDA over the [outer, reduced] split of kernels/reduce.h.
//
// Two launch shapes, picked by which dims hold the smallest stride, so that neighbouring
// threads read neighbouring memory either way:
// - rows (the reduced dims are innermost, e.g. a sum over the last dim): a group of G threads
//   per output (a warp for short rows, a 256-thread block for long ones) strides along the row,
//   then combines through warp shuffles and shared memory;
// - columns (the kept dims are innermost, e.g. a bias gradient summing [N, C] over N): a
//   32 x 8 block, x across 32 neighbouring outputs, y over 8 interleaved row phases combined
//   in shared memory.
// A few outputs over many elements would leave most SMs idle, so the reduced range is then cut
// into chunks whose partial results land in a scratch buffer and are combined, in chunk order,
// by a second kernel. Chunk counts depend only on the shapes and nothing uses atomics, so every
// run gives the same bits. Accumulation is in f32.
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "kernels/cuda/convert.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/pack.cuh"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/warp.cuh"

namespace kiln::kernels::cuda {
namespace {

constexpr int kWarp = 32;
constexpr int kColumnPhases = 8;
// Rows at least this long get a whole block per output.
constexpr int64_t kLongRow = 1024;
// Below these many blocks the reduced range is split into chunks of at least the given size,
// up to about kTargetBlocks blocks in all.
constexpr int64_t kTargetBlocks = 1024;
constexpr int64_t kRowChunk = 16384;
constexpr int64_t kColumnChunk = 2048;

int64_t layout_numel(const StridedLayout& layout) {
  int64_t n = 1;
  for (int d = 0; d < layout.ndim; ++d) n *= layout.shape[d];
  return n;
}

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

__device__ inline int64_t reduced_offset(const StridedLayout& reduced, int64_t j) {
  return reduced.ndim == 1 ? j * reduced.strides[0] : reduced.offset_of(j);
}

template <typename T>
struct SumReduction {
  using Acc = float;
  T* out;
  double scale;

  __device__ static Acc init() { return 0.0f; }
  __device__ static Acc add(Acc acc, float v, int64_t) { return acc + v; }
  __device__ static Acc combine(Acc a, Acc b) { return a + b; }
  __device__ static Acc shuffle_down(Acc a, int delta) {
    return __shfl_down_sync(0xffffffffu, a, delta);
  }
  __device__ void finish(int64_t o, Acc acc) const {
    out[o] = convert<T>(static_cast<float>(static_cast<double>(acc) * scale));
  }
};

struct MaxAcc {
  float value;
  long long index;  // -1 while nothing has been seen
};

template <typename T>
struct MaxReduction {
  using Acc = MaxAcc;
  T* out;
  int64_t* index;

  __device__ static Acc init() { return {0.0f, -1}; }
  // A total order (NaN first, then the larger value, then the smaller index), so any
  // combining order picks the same element: the first maximum, or the first NaN.
  __device__ static Acc combine(Acc a, Acc b) {
    if (b.index < 0) return a;
    if (a.index < 0) return b;
    const bool a_nan = isnan(a.value), b_nan = isnan(b.value);
    if (a_nan != b_nan) return a_nan ? a : b;
    if (!a_nan && a.value != b.value) return a.value > b.value ? a : b;
    return a.index < b.index ? a : b;
  }
  __device__ static Acc add(Acc acc, float v, int64_t j) { return combine(acc, {v, j}); }
  __device__ static Acc shuffle_down(Acc a, int delta) {
    return {__shfl_down_sync(0xffffffffu, a.value, delta),
            __shfl_down_sync(0xffffffffu, a.index, delta)};
  }
  __device__ void finish(int64_t o, Acc acc) const {
    if (out != nullptr) out[o] = convert<T>(acc.value);
    if (index != nullptr) index[o] = acc.index;
  }
};

// Writes the result of (output o, chunk s): the output itself when unsplit, else a partial.
template <typename Op>
__device__ void emit(const Op& op, typename Op::Acc* partial, int splits, int64_t o, int s,
                     typename Op::Acc acc) {
  if (partial == nullptr) {
    op.finish(o, acc);
  } else {
    partial[o * splits + s] = acc;
  }
}

// G threads per (output, chunk) pair; G is 32 (a warp) or kBlockSize (the block).
template <int G, typename Op, typename T>
__global__ void reduce_rows_kernel(const T* in, StridedLayout outer, StridedLayout reduced,
                                   int64_t num_out, int64_t num_reduced, int64_t chunk, int splits,
                                   Op op, typename Op::Acc* partial) {
  using Acc = typename Op::Acc;
  constexpr int kGroups = kBlockSize / G;
  __shared__ Acc warp_results[kBlockSize / kWarp];
  const int group = threadIdx.x / G;
  const int lane = threadIdx.x % G;
  const int64_t pairs = num_out * splits;
  // Every thread of a block runs the same number of iterations (G = block needs __syncthreads).
  for (int64_t first = static_cast<int64_t>(blockIdx.x) * kGroups; first < pairs;
       first += static_cast<int64_t>(gridDim.x) * kGroups) {
    const int64_t t = first + group;
    Acc acc = Op::init();
    if (t < pairs) {
      const int64_t o = t / splits;
      const int s = static_cast<int>(t % splits);
      const T* base = in + outer.offset_of(o);
      const int64_t end = num_reduced < (s + 1) * chunk ? num_reduced : (s + 1) * chunk;
      for (int64_t j = s * chunk + lane; j < end; j += G)
        acc = Op::add(acc, to_float(base[reduced_offset(reduced, j)]), j);
    }
    acc = warp_reduce_down<Op>(acc);
    if constexpr (G > kWarp) {
      if (threadIdx.x % kWarp == 0) warp_results[threadIdx.x / kWarp] = acc;
      __syncthreads();
      if (threadIdx.x == 0) {
        acc = warp_results[0];
        for (int w = 1; w < G / kWarp; ++w) acc = Op::combine(acc, warp_results[w]);
      }
      __syncthreads();
    }
    if (lane == 0 && t < pairs)
      emit(op, partial, splits, t / splits, static_cast<int>(t % splits), acc);
  }
}

// Block (kWarp, kColumnPhases): x over neighbouring outputs, y over interleaved rows;
// blockIdx.y is the chunk.
template <typename Op, typename T>
__global__ void reduce_columns_kernel(const T* in, StridedLayout outer, StridedLayout reduced,
                                      int64_t num_out, int64_t num_reduced, int64_t chunk,
                                      int splits, Op op, typename Op::Acc* partial) {
  using Acc = typename Op::Acc;
  __shared__ Acc phases[kColumnPhases][kWarp];
  const int64_t o = static_cast<int64_t>(blockIdx.x) * kWarp + threadIdx.x;
  const int s = static_cast<int>(blockIdx.y);
  Acc acc = Op::init();
  if (o < num_out) {
    const T* base = in + outer.offset_of(o);
    const int64_t end = num_reduced < (s + 1) * chunk ? num_reduced : (s + 1) * chunk;
    for (int64_t j = s * chunk + threadIdx.y; j < end; j += kColumnPhases)
      acc = Op::add(acc, to_float(base[reduced_offset(reduced, j)]), j);
  }
  phases[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && o < num_out) {
    for (int p = 1; p < kColumnPhases; ++p) acc = Op::combine(acc, phases[p][threadIdx.x]);
    emit(op, partial, splits, o, s, acc);
  }
}

// Combines each output's chunk results in chunk order.
template <typename Op>
__global__ void combine_chunks_kernel(const typename Op::Acc* partial, int64_t num_out, int splits,
                                      Op op) {
  for (int64_t o = global_thread(); o < num_out; o += grid_threads()) {
    typename Op::Acc acc = partial[o * splits];
    for (int s = 1; s < splits; ++s) acc = Op::combine(acc, partial[o * splits + s]);
    op.finish(o, acc);
  }
}

template <typename T>
__global__ void max_backward_kernel(const T* grad_out, const int64_t* index, StridedLayout outer,
                                    StridedLayout reduced, T* grad_in, int64_t num_out) {
  for (int64_t o = global_thread(); o < num_out; o += grid_threads())
    grad_in[outer.offset_of(o) + reduced.offset_of(index[o])] = grad_out[o];
}

// Chunks per output: 1 unless there are too few blocks to fill the GPU and each chunk can
// still hold `min_chunk` elements.
int chunks_for(int64_t blocks, int64_t num_reduced, int64_t min_chunk) {
  if (blocks >= kTargetBlocks) return 1;
  const int64_t by_size = std::max<int64_t>(1, num_reduced / min_chunk);
  const int64_t by_blocks = std::max<int64_t>(1, kTargetBlocks / blocks);
  return static_cast<int>(std::min(by_size, by_blocks));
}

template <typename Op, typename T>
void reduce(const T* in, const StridedLayout& outer, const StridedLayout& reduced, const Op& op,
            cudaStream_t stream) {
  using Acc = typename Op::Acc;
  const int64_t num_out = layout_numel(outer);
  const int64_t num_reduced = layout_numel(reduced);
  if (num_out == 0) return;
  const bool columns =
      outer.ndim > 0 && reduced.ndim > 0 && outer.strides[outer.ndim - 1] != 0 &&
      std::abs(outer.strides[outer.ndim - 1]) < std::abs(reduced.strides[reduced.ndim - 1]);
  const int64_t column_blocks = ceil_div(num_out, kWarp);
  const int splits = columns ? chunks_for(column_blocks, num_reduced, kColumnChunk)
                             : chunks_for(num_out, num_reduced, kRowChunk);
  const int64_t chunk = std::max<int64_t>(1, ceil_div(num_reduced, splits));
  Acc* partial = nullptr;
  if (splits > 1) {
    KILN_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&partial),
                                           static_cast<size_t>(num_out * splits) * sizeof(Acc),
                                           stream));
  }
  if (columns) {
    const dim3 grid(static_cast<unsigned>(column_blocks), static_cast<unsigned>(splits));
    reduce_columns_kernel<<<grid, dim3(kWarp, kColumnPhases), 0, stream>>>(
        in, outer, reduced, num_out, num_reduced, chunk, splits, op, partial);
  } else if (splits > 1 || num_reduced >= kLongRow) {
    reduce_rows_kernel<kBlockSize><<<grid_for(num_out * splits, 1), kBlockSize, 0, stream>>>(
        in, outer, reduced, num_out, num_reduced, chunk, splits, op, partial);
  } else {
    constexpr int kGroups = kBlockSize / kWarp;
    reduce_rows_kernel<kWarp><<<grid_for(num_out, kGroups), kBlockSize, 0, stream>>>(
        in, outer, reduced, num_out, num_reduced, chunk, splits, op, partial);
  }
  KILN_CUDA_CHECK(cudaGetLastError());
  if (splits > 1) {
    combine_chunks_kernel<<<grid_for(num_out), kBlockSize, 0, stream>>>(partial, num_out, splits,
                                                                        op);
    KILN_CUDA_CHECK(cudaGetLastError());
    KILN_CUDA_CHECK(cudaFreeAsync(partial, stream));
  }
}

}  // namespace

template <typename T>
void sum_reduce(const T* in, const StridedLayout& outer, const StridedLayout& reduced, T* out,
                double scale, cudaStream_t stream) {
  reduce(in, outer, reduced, SumReduction<T>{out, scale}, stream);
}

template <typename T>
void max_reduce(const T* in, const StridedLayout& outer, const StridedLayout& reduced, T* out,
                int64_t* index, cudaStream_t stream) {
  reduce(in, outer, reduced, MaxReduction<T>{out, index}, stream);
}

template <typename T>
void max_reduce_backward(const T* grad_out, const int64_t* index, const StridedLayout& outer,
                         const StridedLayout& reduced, T* grad_in, cudaStream_t stream) {
  const int64_t num_out = layout_numel(outer);
  if (num_out == 0) return;
  max_backward_kernel<<<grid_for(num_out), kBlockSize, 0, stream>>>(grad_out, index, outer, reduced,
                                                                    grad_in, num_out);
  KILN_CUDA_CHECK(cudaGetLastError());
}

#define KILN_CUDA_INSTANTIATE_REDUCE(T)                                                           \
  template void sum_reduce<T>(const T*, const StridedLayout&, const StridedLayout&, T*, double,   \
                              cudaStream_t);                                                      \
  template void max_reduce<T>(const T*, const StridedLayout&, const StridedLayout&, T*, int64_t*, \
                              cudaStream_t);                                                      \
  template void max_reduce_backward<T>(const T*, const int64_t*, const StridedLayout&,            \
                                       const StridedLayout&, T*, cudaStream_t);
KILN_CUDA_INSTANTIATE_REDUCE(float)
KILN_CUDA_INSTANTIATE_REDUCE(bf16)
KILN_CUDA_INSTANTIATE_REDUCE(f16)

}  // namespace kiln::kernels::cuda
