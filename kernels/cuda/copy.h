#pragma once
// CUDA counterparts of kernels/copy.h, ordered on `stream`.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/layout.h"

namespace kiln::kernels::cuda {

template <typename Src, typename Dst>
void copy_strided(const Src* src, const StridedLayout& src_layout, Dst* dst,
                  const StridedLayout& dst_layout, int64_t n, cudaStream_t stream);

template <typename T>
void fill(T* dst, const StridedLayout& layout, T value, int64_t n, cudaStream_t stream);

}  // namespace kiln::kernels::cuda
