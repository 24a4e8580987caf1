#pragma once
// The CUDA runtime as core/ uses it: device count, one compute stream per device,
// stream-ordered allocation from the device's default memory pool, and copies.
// Compiled only when KILN_CUDA is on.
#include <cstddef>

#include <cuda_runtime_api.h>

namespace kiln::cuda {

int device_count();
// The compute stream of `device` (created on first use; all kiln work on a device is ordered on it).
cudaStream_t stream(int device);
// Makes `device` current and returns its stream: what every kernel launch site calls, so that
// work for cuda:1 never lands on cuda:0.
cudaStream_t launch_stream(int device);
// Allocates from the device's pool, ordered on its stream. Out of memory is a kiln::Error that
// names the requested size and the free memory.
void* allocate(size_t nbytes, int device);
void deallocate(void* ptr, int device);
// Copies between host and device memory, ordered on the device's stream; returns when done.
void copy(void* dst, const void* src, size_t nbytes, cudaMemcpyKind kind, int device);
void synchronize(int device);

struct MemoryStats {
  size_t current_bytes = 0;
  size_t peak_bytes = 0;
};
MemoryStats memory_stats(int device);

}  // namespace kiln::cuda
