#include "core/backend/attention.h"

#include "core/cuda/runtime.h"
#include "core/dispatch.h"
#include "kernels/cuda/attention.h"

namespace kiln::backend {
namespace {

void forward(std::string_view op, const Tensor& q, const Tensor& k, const Tensor& v,
             const Tensor& out, const Tensor& lse, const kernels::AttentionDims& dims) {
  KILN_CHECK(dims.dim <= kernels::cuda::kAttentionMaxDim, op,
             "q has shape {}, expected a head dim of at most {} on CUDA", shape_str(q.shape()),
             kernels::cuda::kAttentionMaxDim);
  KILN_CHECK(dims.batch * dims.heads <= 65535, op,
             "q has shape {}: batch · heads is {}, at most 65535 on CUDA", shape_str(q.shape()),
             dims.batch * dims.heads);
  visit_cuda_float(q.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cuda::attention_forward<T>(q.data<T>(), k.data<T>(), v.data<T>(), out.data<T>(),
                                        lse.data<float>(), dims,
                                        cuda::launch_stream(q.device().index));
  });
}

// The kernels produce all three gradients together: the ones not wanted go to scratch.
void backward(std::string_view op, const Tensor& q, const Tensor& k, const Tensor& v,
              const Tensor& out, const Tensor& lse, const Tensor& grad, const Tensor& dq,
              const Tensor& dk, const Tensor& dv, const kernels::AttentionDims& dims,
              bool deterministic) {
  const TensorOptions options{q.dtype(), q.device()};
  const Tensor dq_all = dq.defined() ? dq : empty(q.shape(), options);
  const Tensor dk_all = dk.defined() ? dk : empty(k.shape(), options);
  const Tensor dv_all = dv.defined() ? dv : empty(v.shape(), options);
  visit_cuda_float(q.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const int64_t bytes = kernels::cuda::attention_backward_workspace<T>(dims, deterministic);
    const Tensor workspace = empty({bytes}, TensorOptions{DType::u8, q.device()});
    kernels::cuda::attention_backward<T>(
        q.data<T>(), k.data<T>(), v.data<T>(), out.data<T>(), lse.data<float>(), grad.data<T>(),
        dq_all.data<T>(), dk_all.data<T>(), dv_all.data<T>(), workspace.data<uint8_t>(), dims,
        deterministic, cuda::launch_stream(q.device().index));
  });
}

constexpr AttentionBackend kTable{forward, backward};

}  // namespace

const AttentionBackend& AttentionBackend::cuda() {
  return kTable;
}

}  // namespace kiln::backend
