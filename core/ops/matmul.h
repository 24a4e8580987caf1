#pragma once
// Matrix products through CBLAS on the CPU and cuBLASLt on CUDA. Transposed operands, including
// transposed views, go to the BLAS as transpose flags rather than copies.
#include <optional>

#include "core/tensor.h"

namespace kiln {

// a [..., M, K] (or [..., K, M] with transpose_a) times b [..., K, N] (or [..., N, K] with
// transpose_b). Leading batch dims broadcast; 1-D operands are not accepted.
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false);
// x [..., in] · weight [out, in]ᵀ + bias [out]. On CUDA the bias is added by the product itself
// (a cuBLASLt epilogue).
Tensor linear(const Tensor& x, const Tensor& weight, const std::optional<Tensor>& bias = {});

// Whether f32 products on CUDA may use TF32 tensor cores (inputs rounded to a 10-bit mantissa,
// about 3e-4 relative error, several times the speed). Off by default, so that CUDA matches the
// CPU to f32 precision; process-wide, and read at each product. bf16/f16 products and the CPU
// are unaffected.
void set_allow_tf32(bool allow);
bool allow_tf32();

}  // namespace kiln
