#include "core/ops/attention.h"

#include <cmath>

#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/ops/common.h"
#include "core/ops/elementwise.h"
#include "core/ops/matmul.h"
#include "core/ops/softmax.h"
#include "kernels/attention.h"

#ifdef KILN_CUDA
#include "core/cuda/runtime.h"
#include "kernels/cuda/attention.h"
#endif

namespace kiln {
namespace {

constexpr std::string_view kOp = "scaled_dot_product_attention";

kernels::AttentionDims validate(const Tensor& q, const Tensor& k, const Tensor& v,
                                const AttentionOptions& options) {
  const std::string_view op = kOp;
  KILN_CHECK(q.defined() && k.defined() && v.defined(), op, "q, k or v is undefined");
  check_floating(op, "q", q);
  check_same_dtype(op, "k", k, q);
  check_same_dtype(op, "v", v, q);
  check_dim(op, "q [B, H, Tq, D]", q, 4);
  check_dim(op, "k [B, Hkv, Tk, D]", k, 4);
  check_dim(op, "v [B, Hkv, Tk, D]", v, 4);
  KILN_CHECK(k.size(0) == q.size(0), op, "k has shape {}, expected batch {} (first dim of q {})",
             shape_str(k.shape()), q.size(0), shape_str(q.shape()));
  KILN_CHECK(k.size(3) == q.size(3), op, "k has shape {}, expected head dim {} (last dim of q {})",
             shape_str(k.shape()), q.size(3), shape_str(q.shape()));
  KILN_CHECK(v.shape() == k.shape(), op,
             "v has shape {}, expected k's shape {} (same batch, kv heads, keys and head dim)",
             shape_str(v.shape()), shape_str(k.shape()));
  KILN_CHECK(k.size(1) > 0 && q.size(1) % k.size(1) == 0, op,
             "q has {} heads, expected a multiple of k's {} kv heads (q {}, k {})", q.size(1),
             k.size(1), shape_str(q.shape()), shape_str(k.shape()));
  KILN_CHECK(q.size(3) > 0, op, "q has shape {}, expected a head dim of at least 1",
             shape_str(q.shape()));
  const double s = options.scale.value_or(1.0 / std::sqrt(static_cast<double>(q.size(3))));
  KILN_CHECK(std::isfinite(s), op, "scale is {}, expected a finite value", s);
  check_same_device(op, {q, k, v});
  return {q.size(0), q.size(1), k.size(1), q.size(2), k.size(2), q.size(3), options.causal, s};
}

// matmul -> softmax -> matmul. The query heads sharing a kv head are stacked along the rows
// ([B, Hkv, G · Tq, D]), so k and v broadcast without being copied per head.
std::pair<Tensor, Tensor> naive_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                          const kernels::AttentionDims& d) {
  const int64_t group = d.heads / d.kv_heads;
  const Tensor scores =
      matmul(q.reshape({d.batch, d.kv_heads, group * d.tq, d.dim}), k, false, true)
          .reshape({d.batch, d.heads, d.tq, d.tk});
  const Tensor probs = softmax(scores * d.scale, d.causal);
  const Tensor out = matmul(probs.reshape({d.batch, d.kv_heads, group * d.tq, d.tk}), v)
                         .reshape({d.batch, d.heads, d.tq, d.dim});
  return {out, probs};
}

Tensor fused_cpu(const Tensor& q, const Tensor& k, const Tensor& v,
                 const kernels::AttentionDims& dims) {
  const Tensor qc = q.detach().contiguous();
  const Tensor kc = k.detach().contiguous();
  const Tensor vc = v.detach().contiguous();
  const TensorOptions options{q.dtype(), q.device()};
  Tensor out = empty(q.shape(), options);
  const Tensor lse = empty({dims.batch, dims.heads, dims.tq}, options);
  visit_float(q.dtype(), kOp, [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::attention_forward(qc.data<T>(), kc.data<T>(), vc.data<T>(), out.data<T>(),
                                    lse.data<T>(), dims);
  });
  record(std::string(kOp), out, {q, k, v},
         [qc, kc, vc, o = out.detach(), lse, dims](
             const Tensor& g, const std::vector<bool>& needs) -> std::vector<Tensor> {
           const Tensor gc = g.contiguous();
           const TensorOptions opts{qc.dtype(), qc.device()};
           Tensor dq = needs[0] ? empty(qc.shape(), opts) : Tensor();
           Tensor dk = needs[1] ? empty(kc.shape(), opts) : Tensor();
           Tensor dv = needs[2] ? empty(vc.shape(), opts) : Tensor();
           visit_float(qc.dtype(), kOp, [&](auto tag) {
             using T = decltype(tag);
             kernels::cpu::attention_backward(
                 qc.data<T>(), kc.data<T>(), vc.data<T>(), o.data<T>(), lse.data<T>(), gc.data<T>(),
                 dq.defined() ? dq.data<T>() : nullptr, dk.defined() ? dk.data<T>() : nullptr,
                 dv.defined() ? dv.data<T>() : nullptr, dims);
           });
           return {dq, dk, dv};
         });
  return out;
}

#ifdef KILN_CUDA
// The log-sum-exp is kept in f32 whatever the element type: the backward's probabilities are
// exp(s - lse), and a 16-bit lse would cost them their precision.
Tensor fused_cuda(const Tensor& q, const Tensor& k, const Tensor& v,
                  const kernels::AttentionDims& dims, bool deterministic) {
  KILN_CHECK(dims.dim <= kernels::cuda::kAttentionMaxDim, kOp,
             "q has shape {}, expected a head dim of at most {} on CUDA", shape_str(q.shape()),
             kernels::cuda::kAttentionMaxDim);
  KILN_CHECK(dims.batch * dims.heads <= 65535, kOp,
             "q has shape {}: batch · heads is {}, at most 65535 on CUDA", shape_str(q.shape()),
             dims.batch * dims.heads);
  const Tensor qc = q.detach().contiguous();
  const Tensor kc = k.detach().contiguous();
  const Tensor vc = v.detach().contiguous();
  const int device = q.device().index;
  Tensor out = empty(q.shape(), TensorOptions{q.dtype(), q.device()});
  const Tensor lse =
      empty({dims.batch, dims.heads, dims.tq}, TensorOptions{DType::f32, q.device()});
  visit_cuda_float(q.dtype(), kOp, [&](auto tag) {
    using T = decltype(tag);
    kernels::cuda::attention_forward<T>(qc.data<T>(), kc.data<T>(), vc.data<T>(), out.data<T>(),
                                        lse.data<float>(), dims, cuda::launch_stream(device));
  });
  record(std::string(kOp), out, {q, k, v},
         [qc, kc, vc, o = out.detach(), lse, dims, deterministic, device](
             const Tensor& g, const std::vector<bool>& needs) -> std::vector<Tensor> {
           const Tensor gc = g.contiguous();
           const TensorOptions opts{qc.dtype(), qc.device()};
           // The kernels produce all three together.
           Tensor dq = empty(qc.shape(), opts);
           Tensor dk = empty(kc.shape(), opts);
           Tensor dv = empty(vc.shape(), opts);
           visit_cuda_float(qc.dtype(), kOp, [&](auto tag) {
             using T = decltype(tag);
             const int64_t bytes =
                 kernels::cuda::attention_backward_workspace<T>(dims, deterministic);
             const Tensor workspace = empty({bytes}, TensorOptions{DType::u8, qc.device()});
             kernels::cuda::attention_backward<T>(
                 qc.data<T>(), kc.data<T>(), vc.data<T>(), o.data<T>(), lse.data<float>(),
                 gc.data<T>(), dq.data<T>(), dk.data<T>(), dv.data<T>(), workspace.data<uint8_t>(),
                 dims, deterministic, cuda::launch_stream(device));
           });
           return {needs[0] ? dq : Tensor(), needs[1] ? dk : Tensor(), needs[2] ? dv : Tensor()};
         });
  return out;
}
#endif

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options) {
  const kernels::AttentionDims dims = validate(q, k, v, options);
  if (options.impl == AttentionImpl::naive) return naive_attention(q, k, v, dims).first;
  if (q.device().is_cuda()) {
#ifdef KILN_CUDA
    return fused_cuda(q, k, v, dims, options.deterministic);
#else
    no_cuda_kernel(kOp);
#endif
  }
  return fused_cpu(q, k, v, dims);
}

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal,
                                    std::optional<double> scale) {
  return scaled_dot_product_attention(q, k, v, AttentionOptions{causal, scale});
}

std::pair<Tensor, Tensor> attention_with_probabilities(const Tensor& q, const Tensor& k,
                                                       const Tensor& v,
                                                       const AttentionOptions& options) {
  return naive_attention(q, k, v, validate(q, k, v, options));
}

}  // namespace kiln
