#include "core/ops/attention.h"

#include <cmath>

#include "core/autograd.h"
#include "core/backend/attention.h"
#include "core/backend/on_device.h"
#include "core/ops/common.h"
#include "core/ops/elementwise.h"
#include "core/ops/matmul.h"
#include "core/ops/softmax.h"

namespace kiln {
namespace {

using backend::AttentionBackend;

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

// What the fused backward keeps: the contiguous inputs, the output and its log-sum-exp.
struct AttentionSaved {
  Tensor q, k, v, out, lse;
  kernels::AttentionDims dims;
  bool deterministic = false;
};

std::vector<Tensor> attention_backward(const AttentionSaved& s, const Tensor& grad,
                                       const std::vector<bool>& needs) {
  const TensorOptions options{s.q.dtype(), s.q.device()};
  const Tensor dq = needs[0] ? empty(s.q.shape(), options) : Tensor();
  const Tensor dk = needs[1] ? empty(s.k.shape(), options) : Tensor();
  const Tensor dv = needs[2] ? empty(s.v.shape(), options) : Tensor();
  on_device(kOp, s.q.device(), &AttentionBackend::backward, s.q, s.k, s.v, s.out, s.lse,
            grad.contiguous(), dq, dk, dv, s.dims, s.deterministic);
  return {dq, dk, dv};
}

Tensor fused_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                       const kernels::AttentionDims& dims, bool deterministic) {
  AttentionSaved saved{q.detach().contiguous(),
                       k.detach().contiguous(),
                       v.detach().contiguous(),
                       Tensor(),
                       Tensor(),
                       dims,
                       deterministic};
  Tensor out = empty(q.shape(), TensorOptions{q.dtype(), q.device()});
  saved.out = out.detach();
  saved.lse = empty({dims.batch, dims.heads, dims.tq},
                    TensorOptions{q.device().is_cuda() ? DType::f32 : q.dtype(), q.device()});
  on_device(kOp, q.device(), &AttentionBackend::forward, saved.q, saved.k, saved.v, out, saved.lse,
            dims);
  record(std::string(kOp), out, {q, k, v},
         [saved](const Tensor& g, const std::vector<bool>& needs) {
           return attention_backward(saved, g, needs);
         });
  return out;
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options) {
  const kernels::AttentionDims dims = validate(q, k, v, options);
  if (options.impl == AttentionImpl::naive) return naive_attention(q, k, v, dims).first;
  return fused_attention(q, k, v, dims, options.deterministic);
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
