#pragma once
// Normalisation over the last dim, fused (one kernel forward, one backward).
#include <optional>

#include "core/tensor.h"

namespace kiln {

// (x - mean) / sqrt(var + eps) * weight + bias, var the biased variance; weight and bias [C]
// are optional.
Tensor layer_norm(const Tensor& x, const std::optional<Tensor>& weight,
                  const std::optional<Tensor>& bias, double eps = 1e-5);
// x / sqrt(mean(x^2) + eps) * weight.
Tensor rms_norm(const Tensor& x, const std::optional<Tensor>& weight, double eps = 1e-6);

}  // namespace kiln
