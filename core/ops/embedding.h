#pragma once
#include "core/tensor.h"

namespace kiln {

// Rows of `weight` [num_embeddings, dim] picked by `ids` (i32/i64, any shape) -> [..., dim].
// Backward scatter-adds into the rows that were used; ids out of range are an error.
Tensor embedding(const Tensor& weight, const Tensor& ids);

}  // namespace kiln
