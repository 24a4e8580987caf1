#pragma once
// A plain copy kernel: the bandwidth ceiling a kernel (rather than the copy engine behind
// cudaMemcpy) can reach, measured next to the ops in gpu_ops_bench.cpp.
#include <cuda_runtime_api.h>

#include <cstddef>

namespace kiln::bench::cuda {

// Copies `nbytes` from `src` to `dst` (both 16-byte aligned, as the stream-ordered pool gives),
// ordered on `stream`.
void copy_kernel(void* dst, const void* src, size_t nbytes, cudaStream_t stream);

}  // namespace kiln::bench::cuda
