#pragma once
// Dropout with a Philox mask: element i (row-major over the input's shape) is kept when
// uniform_from_bits(philox4x32(seed, offset + i).v[0]) >= p, the comparison in f32 so that CPU
// and CUDA keep the same elements.
#include <cstdint>

#include "kernels/layout.h"

namespace kiln::kernels::cpu {

// out[i] = keep ? x[i] * scale : 0 and mask[i] = keep, for i < n; out and mask contiguous.
template <typename T>
void dropout_forward(const T* x, const StridedLayout& x_layout, T* out, uint8_t* mask, int64_t n,
                     float p, T scale, uint64_t seed, uint64_t offset);

// grad_in[i] = mask[i] ? grad[i] * scale : 0, all contiguous.
template <typename T>
void dropout_backward(const T* grad, const uint8_t* mask, T* grad_in, int64_t n, T scale);

}  // namespace kiln::kernels::cpu
