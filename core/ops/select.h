#pragma once
// Choosing elements by a boolean condition, with broadcasting.
#include "core/tensor.h"

namespace kiln {

// condition ? a : b elementwise; condition is bool (or u8).
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);
// x with `value` where mask is true.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);

}  // namespace kiln
