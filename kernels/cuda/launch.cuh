#pragma once
// Launch helpers shared by the CUDA kernels. kernels/ cannot throw kiln::Error (it does not
// include core/), so a failed launch throws std::runtime_error with file:line, which core
// reports as it is.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace kiln::kernels::cuda {

constexpr int kBlockSize = 256;

// Enough blocks to cover n elements with a grid-stride loop, capped so huge tensors do not
// launch millions of blocks.
inline unsigned grid_for(int64_t n, int block = kBlockSize) {
  const int64_t blocks = (n + block - 1) / block;
  return static_cast<unsigned>(std::clamp<int64_t>(blocks, 1, 65535 * 8));
}

}  // namespace kiln::kernels::cuda

#define KILN_CUDA_LAUNCH_CHECK(expr)                                                             \
  do {                                                                                           \
    const cudaError_t kiln_status_ = (expr);                                                     \
    if (kiln_status_ != cudaSuccess)                                                             \
      throw std::runtime_error(std::string("[cuda] ") + #expr + " failed at " + __FILE__ + ":" + \
                               std::to_string(__LINE__) + ": " +                                 \
                               cudaGetErrorString(kiln_status_));                                \
  } while (0)
