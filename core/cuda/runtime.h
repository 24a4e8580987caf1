#pragma once
// The CUDA runtime as core/ uses it: device count, one compute stream per device,
// stream-ordered allocation from the device's default memory pool, copies (host memory goes
// through a pinned staging buffer), and the cuBLASLt handle and workspace of each device.
// Compiled only when KILN_CUDA is on.
#include <cstddef>
#include <string>

#include <cublasLt.h>
#include <cuda_runtime_api.h>

namespace kiln::cuda {

int device_count();
// The driver's name for the device (cudaDeviceProp::name).
std::string device_name(int device);
// The compute stream of `device` (created on first use; all kiln work on a device is ordered on
// it).
cudaStream_t stream(int device);
// Makes `device` current and returns its stream: what every kernel launch site calls, so that
// work for cuda:1 never lands on cuda:0.
cudaStream_t launch_stream(int device);
// Allocates from the device's pool, ordered on its stream. Out of memory is a kiln::Error that
// names the requested size and the free memory.
void* allocate(size_t nbytes, int device);
void deallocate(void* ptr, int device);
// Copies between host and device memory, ordered on the device's stream; returns when done.
// Host memory is pageable, so host<->device copies go through one pinned buffer per device
// (grown on demand up to 64 MiB) in chunks, the host-side memcpy of one chunk overlapping the
// DMA of the previous one.
void copy(void* dst, const void* src, size_t nbytes, cudaMemcpyKind kind, int device);
void synchronize(int device);

struct MemoryStats {
  size_t current_bytes = 0;
  size_t peak_bytes = 0;
};
// Bytes in use in the device's pool now, and the most ever in use (this includes the cuBLASLt
// workspace once a matmul has run).
MemoryStats memory_stats(int device);

// The cuBLASLt handle of `device`, created on first use.
cublasLtHandle_t blas_handle(int device);
// A workspace for cuBLASLt on `device`, allocated once from its pool. All kiln work on a device
// is ordered on one stream, so one workspace serves every product.
struct BlasWorkspace {
  void* data = nullptr;
  size_t bytes = 0;
};
BlasWorkspace blas_workspace(int device);

}  // namespace kiln::cuda
