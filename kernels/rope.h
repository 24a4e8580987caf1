#pragma once
// Rotary position embedding in the rotate-half convention of transformers' Llama: the last dim
// D of each vector splits into halves x1, x2, and at position p
//   y1 = x1 · cos - x2 · sin,   y2 = x2 · cos + x1 · sin
// with cos, sin = table[p] of D/2 angles. The inverse (a rotation by -θ) is the backward, as the
// rotation is orthogonal.
//
// x and y are contiguous [outer, time, inner, dim] (dim even): the position of index t is
// start + t, whatever outer and inner hold (batch and heads in either order). cos and sin are
// contiguous [>= start + time, dim / 2]. The arithmetic is in C: float for float, bf16 and f16
// storage, double for double (gradient checks).
#include <cstdint>

namespace kiln::kernels::cpu {

template <typename T, typename C>
void rope(const T* x, const C* cos, const C* sin, T* y, int64_t outer, int64_t time, int64_t inner,
          int64_t dim, int64_t start, bool inverse);

}  // namespace kiln::kernels::cpu
