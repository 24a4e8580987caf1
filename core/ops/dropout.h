#pragma once
#include "core/random.h"
#include "core/tensor.h"

namespace kiln {

// Zeroes each element with probability p and scales the rest by 1/(1-p) when `training`;
// the identity otherwise. The mask comes from Philox at the generator's offset, so the same
// seed gives the same mask on every device and thread count.
Tensor dropout(const Tensor& x, double p, bool training, Generator* generator = nullptr);

}  // namespace kiln
