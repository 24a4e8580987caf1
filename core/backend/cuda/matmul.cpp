#include "core/backend/matmul.h"

#include "core/cuda/runtime.h"
#include "core/dispatch.h"
#include "core/ops/matmul.h"
#include "kernels/cuda/matmul.h"

namespace kiln::backend {
namespace {

// The handle, workspace and stream of the device `t` lives on (making it current).
kernels::cuda::BlasContext blas_context(const Tensor& t) {
  const int device = t.device().index;
  const cudaStream_t stream = cuda::launch_stream(device);
  const cuda::BlasWorkspace workspace = cuda::blas_workspace(device);
  return {cuda::blas_handle(device), device, workspace.data, workspace.bytes, stream};
}

void gemm(std::string_view op, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
          const Tensor& a, int64_t lda, const Tensor& b, int64_t ldb, const Tensor& bias,
          const Tensor& out) {
  // A bias that is a view into another tensor may be misaligned for cuBLASLt's vector reads; a
  // copy has storage of its own, which the pool aligns.
  Tensor packed = bias.defined() ? bias.detach().contiguous() : Tensor();
  if (packed.defined() && packed.offset() != 0) packed = packed.clone();
  visit_cuda_float(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cuda::gemm(blas_context(a), trans_a, trans_b, m, n, k, a.data<T>(), lda, b.data<T>(),
                        ldb, static_cast<const T*>(data_or_null<T>(packed)), out.data<T>(),
                        allow_tf32());
  });
}

void gemm_batched(std::string_view op, int64_t batch, bool trans_a, bool trans_b, int64_t m,
                  int64_t n, int64_t k, const Tensor& a, const kernels::StridedLayout& a_batch,
                  int64_t lda, const Tensor& b, const kernels::StridedLayout& b_batch, int64_t ldb,
                  const Tensor& out) {
  visit_cuda_float(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cuda::gemm_batched(blas_context(a), batch, trans_a, trans_b, m, n, k, a.data<T>(),
                                a_batch, lda, b.data<T>(), b_batch, ldb, out.data<T>(),
                                allow_tf32());
  });
}

void sum_rows(std::string_view op, const Tensor& g, int64_t rows, int64_t cols, int64_t ld,
              const Tensor& out) {
  visit_cuda_float(g.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cuda::sum_rows(g.data<T>(), rows, cols, ld, out.data<T>(),
                            cuda::launch_stream(g.device().index));
  });
}

constexpr MatmulBackend kTable{gemm, gemm_batched, sum_rows};

}  // namespace

const MatmulBackend& MatmulBackend::cuda() {
  return kTable;
}

}  // namespace kiln::backend
