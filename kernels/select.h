#pragma once
// Choosing elements by a mask: where (condition ? a : b) and masked_fill, with every operand
// read through a broadcast layout over the output's shape. Masks are bool or uint8_t (non-zero
// is true).
#include <cstdint>

#include "kernels/layout.h"

namespace kiln::kernels::cpu {

// out[i] = cond[i] ? a[i] : b[i] for i < n, out contiguous, operands read through their layouts.
template <typename T, typename M>
void where(const M* cond, const StridedLayout& cond_layout, const T* a,
           const StridedLayout& a_layout, const T* b, const StridedLayout& b_layout, T* out,
           int64_t n);

// out[i] = mask[i] ? value : x[i], out contiguous.
template <typename T, typename M>
void masked_fill(const T* x, const StridedLayout& x_layout, const M* mask,
                 const StridedLayout& mask_layout, T value, T* out, int64_t n);

// Splits a contiguous gradient by the mask: grad_true[i] = cond[i] ? grad[i] : 0 and
// grad_false[i] = cond[i] ? 0 : grad[i]; either output may be null.
template <typename T, typename M>
void where_backward(const M* cond, const StridedLayout& cond_layout, const T* grad, T* grad_true,
                    T* grad_false, int64_t n);

}  // namespace kiln::kernels::cpu
