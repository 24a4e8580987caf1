#pragma once
// The matrix products on each device (see core/backend/on_device.h), over operands already laid
// out as BLAS reads them (core/ops/matmul.cpp chooses the layouts): row-major matrices with a
// leading dimension, `trans_*` meaning op(x) = xᵀ. Outputs are contiguous.
//   gemm:         out [m, n] = op(a) [m, k] · op(b) [k, n] (+ bias [n] on every row, if defined)
//   gemm_batched: the same per batch entry, the operands' batch offsets given by layouts
//   sum_rows:     out [cols] = Σ over the rows of g [rows, cols] (leading dim ld)
#include <cstdint>
#include <string_view>

#include "core/tensor.h"

namespace kiln::backend {

struct MatmulBackend {
  void (*gemm)(std::string_view op, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
               const Tensor& a, int64_t lda, const Tensor& b, int64_t ldb, const Tensor& bias,
               const Tensor& out);
  void (*gemm_batched)(std::string_view op, int64_t batch, bool trans_a, bool trans_b, int64_t m,
                       int64_t n, int64_t k, const Tensor& a, const kernels::StridedLayout& a_batch,
                       int64_t lda, const Tensor& b, const kernels::StridedLayout& b_batch,
                       int64_t ldb, const Tensor& out);
  void (*sum_rows)(std::string_view op, const Tensor& g, int64_t rows, int64_t cols, int64_t ld,
                   const Tensor& out);

  static const MatmulBackend& cpu();
  static const MatmulBackend& cuda();
};

}  // namespace kiln::backend
