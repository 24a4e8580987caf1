#pragma once
// Launch helpers shared by the CUDA kernels; status checks come with them (kernels/cuda/check.h).
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cuda/check.h"

namespace kiln::kernels::cuda {

constexpr int kBlockSize = 256;

// Enough blocks to cover n elements with a grid-stride loop, capped so huge tensors do not
// launch millions of blocks.
inline unsigned grid_for(int64_t n, int block = kBlockSize) {
  const int64_t blocks = (n + block - 1) / block;
  return static_cast<unsigned>(std::clamp<int64_t>(blocks, 1, 65535 * 8));
}

}  // namespace kiln::kernels::cuda
