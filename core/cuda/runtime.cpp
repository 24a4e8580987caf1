#include "core/cuda/runtime.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <mutex>

#include "core/error.h"
#include "kernels/cuda/check.h"

namespace kiln::cuda {
namespace {

constexpr int kMaxDevices = 64;
// Pinned staging: at least 1 MiB (one allocation serves every small copy), at most 64 MiB
// (pinned memory is taken from the host for the life of the process).
constexpr size_t kMinStaging = size_t{1} << 20;
constexpr size_t kMaxStaging = size_t{64} << 20;
// cuBLASLt's recommended workspace on Hopper; it also covers older GPUs.
constexpr size_t kBlasWorkspaceBytes = size_t{32} << 20;

// A pinned host buffer used as two halves, so the host can fill or drain one while the DMA
// engine works on the other; `ready[i]` marks the end of the last transfer through half i.
struct Staging {
  std::mutex mutex;
  char* data = nullptr;
  size_t capacity = 0;
  std::array<cudaEvent_t, 2> ready = {};
};

struct DeviceState {
  std::once_flag init;
  cudaStream_t stream = nullptr;
  Staging staging;
  std::once_flag blas_init;
  cublasLtHandle_t blas = nullptr;
  BlasWorkspace workspace;
};

std::array<DeviceState, kMaxDevices>& states() {
  static std::array<DeviceState, kMaxDevices> all;
  return all;
}

DeviceState& state(int device) {
  KILN_CHECK(device >= 0 && device < kMaxDevices, "cuda", "device index {} out of range", device);
  DeviceState& s = states()[device];
  std::call_once(s.init, [&] {
    KILN_CUDA_CHECK(cudaSetDevice(device));
    KILN_CUDA_CHECK(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking));
    // Keep freed memory in the pool instead of returning it to the driver at each sync.
    cudaMemPool_t pool;
    KILN_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
    uint64_t threshold = UINT64_MAX;
    KILN_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold));
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

std::string device_name(int device) {
  cudaDeviceProp properties{};
  KILN_CUDA_CHECK(cudaGetDeviceProperties(&properties, device));
  return properties.name;
}

cudaStream_t stream(int device) {
  return state(device).stream;
}

cudaStream_t launch_stream(int device) {
  DeviceState& s = state(device);
  KILN_CUDA_CHECK(cudaSetDevice(device));
  return s.stream;
}

void* allocate(size_t nbytes, int device) {
  DeviceState& s = state(device);
  KILN_CUDA_CHECK(cudaSetDevice(device));
  void* ptr = nullptr;
  const cudaError_t status = cudaMallocAsync(&ptr, nbytes, s.stream);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    fail("cuda", "out of memory on cuda:{}: requested {} bytes, {} bytes free of {}", device,
         nbytes, free_bytes, total_bytes);
  }
  KILN_CUDA_CHECK(status);
  return ptr;
}

void deallocate(void* ptr, int device) {
  // Destructors must not throw: a failure here means the context is already gone.
  if (cudaSetDevice(device) == cudaSuccess) cudaFreeAsync(ptr, state(device).stream);
}

namespace {

// Makes the staging buffer at least large enough for `nbytes` (within the bounds above). Called
// with the staging mutex held and no transfer in flight.
void reserve_staging(Staging& staging, size_t nbytes) {
  const size_t wanted = std::clamp(std::bit_ceil(nbytes), kMinStaging, kMaxStaging);
  if (staging.capacity >= wanted) return;
  if (staging.data == nullptr) {
    for (cudaEvent_t& e : staging.ready)
      KILN_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  } else {
    KILN_CUDA_CHECK(cudaFreeHost(staging.data));
    staging.data = nullptr;
    staging.capacity = 0;
  }
  void* data = nullptr;
  KILN_CUDA_CHECK(cudaMallocHost(&data, wanted));
  staging.data = static_cast<char*>(data);
  staging.capacity = wanted;
}

void copy_to_device(char* dst, const char* src, size_t nbytes, Staging& staging,
                    cudaStream_t stream) {
  const size_t chunk = staging.capacity / 2;
  size_t index = 0;
  for (size_t offset = 0; offset < nbytes; offset += chunk, ++index) {
    const size_t half = index % 2;
    const size_t len = std::min(chunk, nbytes - offset);
    char* slot = staging.data + half * chunk;
    // The half is free again once the transfer two chunks back has left it.
    if (index >= 2) KILN_CUDA_CHECK(cudaEventSynchronize(staging.ready[half]));
    std::memcpy(slot, src + offset, len);
    KILN_CUDA_CHECK(cudaMemcpyAsync(dst + offset, slot, len, cudaMemcpyHostToDevice, stream));
    KILN_CUDA_CHECK(cudaEventRecord(staging.ready[half], stream));
  }
  KILN_CUDA_CHECK(cudaStreamSynchronize(stream));
}

void copy_to_host(char* dst, const char* src, size_t nbytes, Staging& staging,
                  cudaStream_t stream) {
  const size_t chunk = staging.capacity / 2;
  const size_t chunks = (nbytes + chunk - 1) / chunk;
  auto start = [&](size_t index) {
    const size_t offset = index * chunk;
    const size_t half = index % 2;
    KILN_CUDA_CHECK(cudaMemcpyAsync(staging.data + half * chunk, src + offset,
                                    std::min(chunk, nbytes - offset), cudaMemcpyDeviceToHost,
                                    stream));
    KILN_CUDA_CHECK(cudaEventRecord(staging.ready[half], stream));
  };
  start(0);
  for (size_t index = 0; index < chunks; ++index) {
    // The next chunk lands in the other half while this one is copied out.
    if (index + 1 < chunks) start(index + 1);
    const size_t offset = index * chunk;
    const size_t half = index % 2;
    KILN_CUDA_CHECK(cudaEventSynchronize(staging.ready[half]));
    std::memcpy(dst + offset, staging.data + half * chunk, std::min(chunk, nbytes - offset));
  }
}

}  // namespace

void copy(void* dst, const void* src, size_t nbytes, cudaMemcpyKind kind, int device) {
  DeviceState& s = state(device);
  KILN_CUDA_CHECK(cudaSetDevice(device));
  if (kind == cudaMemcpyDeviceToDevice || nbytes == 0) {
    KILN_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, kind, s.stream));
    KILN_CUDA_CHECK(cudaStreamSynchronize(s.stream));
    return;
  }
  std::lock_guard lock(s.staging.mutex);
  reserve_staging(s.staging, nbytes);
  if (kind == cudaMemcpyHostToDevice) {
    copy_to_device(static_cast<char*>(dst), static_cast<const char*>(src), nbytes, s.staging,
                   s.stream);
  } else {
    copy_to_host(static_cast<char*>(dst), static_cast<const char*>(src), nbytes, s.staging,
                 s.stream);
  }
}

void synchronize(int device) {
  KILN_CUDA_CHECK(cudaStreamSynchronize(state(device).stream));
}

MemoryStats memory_stats(int device) {
  state(device);
  cudaMemPool_t pool;
  KILN_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
  uint64_t current = 0, peak = 0;
  KILN_CUDA_CHECK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemCurrent, &current));
  KILN_CUDA_CHECK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemHigh, &peak));
  return {current, peak};
}

namespace {

DeviceState& blas_state(int device) {
  DeviceState& s = state(device);
  std::call_once(s.blas_init, [&] {
    KILN_CUDA_CHECK(cudaSetDevice(device));
    KILN_CUBLAS_CHECK(cublasLtCreate(&s.blas));
    s.workspace = {allocate(kBlasWorkspaceBytes, device), kBlasWorkspaceBytes};
  });
  return s;
}

}  // namespace

cublasLtHandle_t blas_handle(int device) {
  return blas_state(device).blas;
}

BlasWorkspace blas_workspace(int device) {
  return blas_state(device).workspace;
}

}  // namespace kiln::cuda
