#include "core/cuda/runtime.h"

#include <array>
#include <mutex>

#include "core/cuda/check.h"

namespace kiln::cuda {
namespace {

constexpr int kMaxDevices = 64;

struct DeviceState {
  std::once_flag init;
  cudaStream_t stream = nullptr;
};

std::array<DeviceState, kMaxDevices>& states() {
  static std::array<DeviceState, kMaxDevices> all;
  return all;
}

DeviceState& state(int device) {
  KILN_CHECK(device >= 0 && device < kMaxDevices, "cuda", "device index {} out of range", device);
  DeviceState& s = states()[device];
  std::call_once(s.init, [&] {
    CUDA_CHECK(cudaSetDevice(device));
    CUDA_CHECK(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking));
    // Keep freed memory in the pool instead of returning it to the driver at each sync.
    cudaMemPool_t pool;
    CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
    uint64_t threshold = UINT64_MAX;
    CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold));
  });
  return s;
}

}  // namespace

int device_count() {
  int count = 0;
  // No driver or no device both mean "nothing to run on"; clear the sticky error.
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return count;
}

cudaStream_t stream(int device) { return state(device).stream; }

cudaStream_t launch_stream(int device) {
  DeviceState& s = state(device);
  CUDA_CHECK(cudaSetDevice(device));
  return s.stream;
}

void* allocate(size_t nbytes, int device) {
  DeviceState& s = state(device);
  CUDA_CHECK(cudaSetDevice(device));
  void* ptr = nullptr;
  const cudaError_t status = cudaMallocAsync(&ptr, nbytes, s.stream);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    fail("cuda", "out of memory on cuda:{}: requested {} bytes, {} bytes free of {}", device,
         nbytes, free_bytes, total_bytes);
  }
  CUDA_CHECK(status);
  return ptr;
}

void deallocate(void* ptr, int device) {
  // Destructors must not throw: a failure here means the context is already gone.
  if (cudaSetDevice(device) == cudaSuccess) cudaFreeAsync(ptr, state(device).stream);
}

void copy(void* dst, const void* src, size_t nbytes, cudaMemcpyKind kind, int device) {
  DeviceState& s = state(device);
  CUDA_CHECK(cudaSetDevice(device));
  CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, kind, s.stream));
  CUDA_CHECK(cudaStreamSynchronize(s.stream));
}

void synchronize(int device) { CUDA_CHECK(cudaStreamSynchronize(state(device).stream)); }

MemoryStats memory_stats(int device) {
  state(device);
  cudaMemPool_t pool;
  CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
  uint64_t current = 0, peak = 0;
  CUDA_CHECK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemCurrent, &current));
  CUDA_CHECK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemHigh, &peak));
  return {current, peak};
}

}  // namespace kiln::cuda
