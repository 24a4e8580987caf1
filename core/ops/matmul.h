#pragma once
// Matrix products through CBLAS on the CPU (cuBLASLt on CUDA). Transposed operands, including
// transposed views, go to the BLAS as transpose flags rather than copies.
#include <optional>

#include "core/tensor.h"

namespace kiln {

// a [..., M, K] (or [..., K, M] with transpose_a) times b [..., K, N] (or [..., N, K] with
// transpose_b). Leading batch dims broadcast; 1-D operands are not accepted.
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false,
              bool transpose_b = false);
// x [..., in] · weight [out, in]ᵀ + bias [out].
Tensor linear(const Tensor& x, const Tensor& weight, const std::optional<Tensor>& bias = {});

}  // namespace kiln
