// Embedding on CUDA.
//
// Forward: a block per id (grid-stride over ids) copies its table row; rows are copied in
// 16-byte packs when the table is contiguous and aligned. An id out of range records its
// position with an integer atomicMin (the smallest position wins whatever the order), which
// the launcher reads back so core can name the bad id as on the CPU.
//
// Backward, deterministic: adding each output row into its id's row with float atomics would
// make the order, and so the rounding, change from run to run whenever an id repeats. Instead
// the positions are sorted by id with cub's radix sort (stable, so equal ids keep position
// order), and a block per run of equal ids sums that run's gradient rows in position order
// into the id's row. For f32 this is the CPU kernel's summation order exactly.
#include <cub/device/device_radix_sort.cuh>

#include <algorithm>
#include <bit>
#include <stdexcept>

#include "kernels/cuda/convert.cuh"
#include "kernels/cuda/embedding.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/pack.cuh"

namespace kiln::kernels::cuda {
namespace {

constexpr int kRowThreads = 128;

// N = 1: any strides; N > 1: contiguous rows, dim and row_stride multiples of N, aligned.
template <int N, typename T, typename I>
__global__ void embedding_forward_kernel(const T* weight, int64_t row_stride, int64_t col_stride,
                                         const I* ids, T* out, int64_t num_ids,
                                         int64_t num_embeddings, int64_t dim,
                                         unsigned long long* first_bad) {
  for (int64_t i = blockIdx.x; i < num_ids; i += gridDim.x) {
    const int64_t id = static_cast<int64_t>(ids[i]);
    if (id < 0 || id >= num_embeddings) {
      if (threadIdx.x == 0) atomicMin(first_bad, static_cast<unsigned long long>(i));
      continue;
    }
    const T* row = weight + id * row_stride;
    T* dst = out + i * dim;
    if constexpr (N > 1) {
      for (int64_t c = threadIdx.x * N; c < dim; c += blockDim.x * N)
        store_pack<N>(dst + c, load_pack<N>(row + c));
    } else {
      for (int64_t c = threadIdx.x; c < dim; c += blockDim.x) dst[c] = row[c * col_stride];
    }
  }
}

__global__ void iota_kernel(int64_t* values, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) values[i] = i;
}

// A block per sorted position k that starts a run of equal ids sums the run's rows.
template <typename T, typename I>
__global__ void embedding_backward_kernel(const T* grad_out, const I* sorted_ids,
                                          const int64_t* sorted_positions, T* grad_weight,
                                          int64_t num_ids, int64_t dim) {
  for (int64_t k = blockIdx.x; k < num_ids; k += gridDim.x) {
    const I id = sorted_ids[k];
    if (k > 0 && sorted_ids[k - 1] == id) continue;
    T* dst = grad_weight + static_cast<int64_t>(id) * dim;
    for (int64_t c = threadIdx.x; c < dim; c += blockDim.x) {
      float acc = to_float(dst[c]);
      for (int64_t m = k; m < num_ids && sorted_ids[m] == id; ++m)
        acc += to_float(grad_out[sorted_positions[m] * dim + c]);
      dst[c] = convert<T>(acc);
    }
  }
}

unsigned grid_for_rows(int64_t rows) {
  return static_cast<unsigned>(std::clamp<int64_t>(rows, 1, 65535 * 8));
}

// Scratch memory from the stream's pool, freed in stream order.
class Scratch {
 public:
  Scratch(size_t bytes, cudaStream_t stream) : stream_(stream) {
    KILN_CUDA_CHECK(cudaMallocAsync(&ptr_, std::max<size_t>(bytes, 1), stream));
  }
  ~Scratch() { cudaFreeAsync(ptr_, stream_); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  char* get() const { return static_cast<char*>(ptr_); }

 private:
  void* ptr_ = nullptr;
  cudaStream_t stream_;
};

size_t round_up(size_t bytes) {
  return (bytes + 255) / 256 * 256;
}

}  // namespace

template <typename T, typename I>
int64_t embedding_forward(const T* weight, int64_t row_stride, int64_t col_stride, const I* ids,
                          T* out, int64_t num_ids, int64_t num_embeddings, int64_t dim,
                          cudaStream_t stream) {
  if (num_ids == 0) return -1;
  Scratch first_bad(sizeof(unsigned long long), stream);
  auto* bad = reinterpret_cast<unsigned long long*>(first_bad.get());
  unsigned long long result = static_cast<unsigned long long>(num_ids);
  KILN_CUDA_CHECK(
      cudaMemcpyAsync(bad, &result, sizeof result, cudaMemcpyHostToDevice, stream));
  constexpr int N = kPackSize<T>;
  const bool packed = col_stride == 1 && dim % N == 0 && row_stride % N == 0 &&
                      aligned_to(weight, sizeof(Pack<T, N>)) && aligned_to(out, sizeof(Pack<T, N>));
  const unsigned grid = grid_for_rows(num_ids);
  if (packed) {
    embedding_forward_kernel<N><<<grid, kRowThreads, 0, stream>>>(
        weight, row_stride, col_stride, ids, out, num_ids, num_embeddings, dim, bad);
  } else {
    embedding_forward_kernel<1><<<grid, kRowThreads, 0, stream>>>(
        weight, row_stride, col_stride, ids, out, num_ids, num_embeddings, dim, bad);
  }
  KILN_CUDA_CHECK(cudaGetLastError());
  KILN_CUDA_CHECK(
      cudaMemcpyAsync(&result, bad, sizeof result, cudaMemcpyDeviceToHost, stream));
  KILN_CUDA_CHECK(cudaStreamSynchronize(stream));
  return result < static_cast<unsigned long long>(num_ids) ? static_cast<int64_t>(result) : -1;
}

template <typename T, typename I>
void embedding_backward(const T* grad_out, const I* ids, T* grad_weight, int64_t num_ids,
                        int64_t num_embeddings, int64_t dim, cudaStream_t stream) {
  if (num_ids == 0 || dim == 0) return;
  // Ids are in [0, num_embeddings), so only their low bits need sorting.
  const int end_bit = std::max(1, static_cast<int>(std::bit_width(static_cast<uint64_t>(
                                      std::max<int64_t>(num_embeddings - 1, 1)))));
  size_t sort_bytes = 0;
  KILN_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(
      nullptr, sort_bytes, ids, static_cast<I*>(nullptr), static_cast<const int64_t*>(nullptr),
      static_cast<int64_t*>(nullptr), num_ids, 0, end_bit, stream));
  const size_t ids_bytes = round_up(static_cast<size_t>(num_ids) * sizeof(I));
  const size_t positions_bytes = round_up(static_cast<size_t>(num_ids) * sizeof(int64_t));
  Scratch scratch(ids_bytes + 2 * positions_bytes + sort_bytes, stream);
  I* sorted_ids = reinterpret_cast<I*>(scratch.get());
  int64_t* positions = reinterpret_cast<int64_t*>(scratch.get() + ids_bytes);
  int64_t* sorted_positions =
      reinterpret_cast<int64_t*>(scratch.get() + ids_bytes + positions_bytes);
  void* sort_scratch = scratch.get() + ids_bytes + 2 * positions_bytes;

  iota_kernel<<<grid_for(num_ids), kBlockSize, 0, stream>>>(positions, num_ids);
  KILN_CUDA_CHECK(cudaGetLastError());
  KILN_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(sort_scratch, sort_bytes, ids, sorted_ids,
                                                         positions, sorted_positions, num_ids, 0,
                                                         end_bit, stream));
  embedding_backward_kernel<<<grid_for_rows(num_ids), kRowThreads, 0, stream>>>(
      grad_out, sorted_ids, sorted_positions, grad_weight, num_ids, dim);
  KILN_CUDA_CHECK(cudaGetLastError());
}

#define KILN_CUDA_INSTANTIATE_EMBEDDING(T, I)                                                 \
  template int64_t embedding_forward<T, I>(const T*, int64_t, int64_t, const I*, T*, int64_t, \
                                           int64_t, int64_t, cudaStream_t);                   \
  template void embedding_backward<T, I>(const T*, const I*, T*, int64_t, int64_t, int64_t,   \
                                         cudaStream_t);
#define KILN_CUDA_INSTANTIATE_EMBEDDING_IDS(T) \
  KILN_CUDA_INSTANTIATE_EMBEDDING(T, int32_t)  \
  KILN_CUDA_INSTANTIATE_EMBEDDING(T, int64_t)
KILN_CUDA_INSTANTIATE_EMBEDDING_IDS(float)
KILN_CUDA_INSTANTIATE_EMBEDDING_IDS(bf16)
KILN_CUDA_INSTANTIATE_EMBEDDING_IDS(f16)

}  // namespace kiln::kernels::cuda
