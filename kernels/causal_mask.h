#pragma once
// The causal-mask rule of the softmax kernels, shared by the CPU and CUDA code: the rows are
// [..., tq, cols] and row r is query i = r mod tq, whose unmasked keys are the first
// i + (cols - tq) + 1 columns (clamped to [0, cols]; none when cols < tq leaves it no key).
#include <cstdint>

#include "kernels/layout.h"

namespace kiln::kernels {

KILN_HOST_DEVICE inline int64_t causal_valid_cols(int64_t r, int64_t cols, bool causal,
                                                  int64_t tq) {
  if (!causal) return cols;
  const int64_t n = r % tq + cols - tq + 1;
  return n < 0 ? 0 : (n > cols ? cols : n);
}

}  // namespace kiln::kernels
