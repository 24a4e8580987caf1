#include "core/backend/matmul.h"

#include <algorithm>

#include "core/dispatch.h"
#include "kernels/matmul.h"

namespace kiln::backend {
namespace {

void gemm(std::string_view op, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
          const Tensor& a, int64_t lda, const Tensor& b, int64_t ldb, const Tensor& bias,
          const Tensor& out) {
  visit_float(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    // CBLAS has no bias epilogue: the rows start as the bias and the product adds to them.
    T beta = T(0);
    if (bias.defined()) {
      const Tensor packed = bias.detach().contiguous();
      kernels::cpu::broadcast_rows(packed.data<T>(), out.data<T>(), m, n, n);
      beta = T(1);
    }
    kernels::cpu::gemm(trans_a, trans_b, m, n, k, a.data<T>(), lda, b.data<T>(), ldb, beta,
                       out.data<T>(), std::max<int64_t>(1, n));
  });
}

void gemm_batched(std::string_view op, int64_t batch, bool trans_a, bool trans_b, int64_t m,
                  int64_t n, int64_t k, const Tensor& a, const kernels::StridedLayout& a_batch,
                  int64_t lda, const Tensor& b, const kernels::StridedLayout& b_batch, int64_t ldb,
                  const Tensor& out) {
  visit_float(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::gemm_batched(batch, trans_a, trans_b, m, n, k, a.data<T>(), a_batch, lda,
                               b.data<T>(), b_batch, ldb, out.data<T>());
  });
}

void sum_rows(std::string_view op, const Tensor& g, int64_t rows, int64_t cols, int64_t ld,
              const Tensor& out) {
  visit_float(g.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::sum_rows(g.data<T>(), rows, cols, ld, out.data<T>());
  });
}

constexpr MatmulBackend kTable{gemm, gemm_batched, sum_rows};

}  // namespace

const MatmulBackend& MatmulBackend::cpu() {
  return kTable;
}

}  // namespace kiln::backend
