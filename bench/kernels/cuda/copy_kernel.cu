// copy_kernel: dst = src, 16 bytes (one uint4) per thread per step of a grid-stride loop over
// a grid of a few blocks per multiprocessor. 16-byte accesses coalesce into full 128-byte lines
// per warp with the fewest instructions, and a grid sized to the machine (rather than to the
// data) keeps enough loads in flight without paying for millions of block launches. A byte tail
// (sizes that are not a multiple of 16) is copied by the first threads.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "bench/kernels/cuda/copy_kernel.h"

namespace kiln::bench::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kBlocksPerSm = 4;

__global__ void copy_vectors(uint4* dst, const uint4* src, int64_t vectors) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < vectors;
       i += stride) {
    dst[i] = src[i];
  }
}

__global__ void copy_tail(unsigned char* dst, const unsigned char* src, int64_t n) {
  const int64_t i = threadIdx.x;
  if (i < n) dst[i] = src[i];
}

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess)
    throw std::runtime_error(std::string("[copy_kernel] ") + what + ": " +
                             cudaGetErrorString(status));
}

}  // namespace

void copy_kernel(void* dst, const void* src, size_t nbytes, cudaStream_t stream) {
  int device = 0;
  int sms = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device),
        "cudaDeviceGetAttribute");
  const auto vectors = static_cast<int64_t>(nbytes / sizeof(uint4));
  if (vectors > 0) {
    copy_vectors<<<sms * kBlocksPerSm, kThreads, 0, stream>>>(
        static_cast<uint4*>(dst), static_cast<const uint4*>(src), vectors);
    check(cudaGetLastError(), "copy_vectors launch");
  }
  const auto tail = static_cast<int64_t>(nbytes % sizeof(uint4));
  if (tail > 0) {
    const size_t done = static_cast<size_t>(vectors) * sizeof(uint4);
    copy_tail<<<1, 32, 0, stream>>>(static_cast<unsigned char*>(dst) + done,
                                    static_cast<const unsigned char*>(src) + done, tail);
    check(cudaGetLastError(), "copy_tail launch");
  }
}

}  // namespace kiln::bench::cuda
