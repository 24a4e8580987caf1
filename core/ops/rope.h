#pragma once
// Rotary position embedding (RoFormer) as transformers' Llama applies it: the rotate-half
// convention its checkpoints are stored for. Fused: one kernel forward, one backward.
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace kiln {

// Rotates each vector x = [x1, x2] (the halves of the last dim D) by the angles of its position
// p: [x1 · cos - x2 · sin, x2 · cos + x1 · sin] with cos, sin = table row p, which is
// x · cos + rotate_half(x) · sin with transformers' [T, D] tables (each row's D/2 values twice).
// `time_dim` of x indexes positions start, start + 1, ...; x may be [B, H, T, D] (time_dim -2)
// or [B, T, H, D] (time_dim 1). cos, sin: [P, D / 2] with P >= start + T (rope_tables). The
// arithmetic is in f32 whatever x stores (f64 for f64 x, for gradient checks); x may be any
// layout; the result is contiguous. Differentiable in x; the tables are constants.
Tensor rope(const Tensor& x, const Tensor& cos, const Tensor& sin, int64_t start = 0,
            int64_t time_dim = -2);

// The rotation by -θ (the backward of rope, whose Jacobian is orthogonal), same arguments.
Tensor rope_inverse(const Tensor& g, const Tensor& cos, const Tensor& sin, int64_t start = 0,
                    int64_t time_dim = -2);

// The f32 tables {cos, sin} [positions, inv_freq.size()] of the angles p · inv_freq[i],
// computed in double and rounded once, on `device`.
std::pair<Tensor, Tensor> rope_tables(const std::vector<double>& inv_freq, int64_t positions,
                                      Device device = Device::cpu());

}  // namespace kiln
