#include "core/ops/attention.h"

#include <cmath>

#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/ops/common.h"
#include "kernels/attention.h"

namespace kiln {

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal,
                                    std::optional<double> scale) {
  constexpr std::string_view op = "scaled_dot_product_attention";
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
  const double s = scale.value_or(1.0 / std::sqrt(static_cast<double>(q.size(3))));
  KILN_CHECK(std::isfinite(s), op, "scale is {}, expected a finite value", s);
  check_same_device(op, {q, k, v});
  if (q.device().is_cuda()) no_cuda_kernel(op);

  const kernels::cpu::AttentionDims dims{q.size(0), q.size(1), k.size(1), q.size(2),
                                         k.size(2), q.size(3), causal,    s};
  const Tensor qc = q.detach().contiguous();
  const Tensor kc = k.detach().contiguous();
  const Tensor vc = v.detach().contiguous();
  const TensorOptions options{q.dtype(), q.device()};
  Tensor out = empty(q.shape(), options);
  const Tensor lse = empty({dims.batch, dims.heads, dims.tq}, options);
  visit_float(q.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::attention_forward(qc.data<T>(), kc.data<T>(), vc.data<T>(), out.data<T>(),
                                    lse.data<T>(), dims);
  });
  record("scaled_dot_product_attention", out, {q, k, v},
         [qc, kc, vc, o = out.detach(), lse, dims](
             const Tensor& g, const std::vector<bool>& needs) -> std::vector<Tensor> {
           const Tensor gc = g.contiguous();
           const TensorOptions opts{qc.dtype(), qc.device()};
           Tensor dq = needs[0] ? empty(qc.shape(), opts) : Tensor();
           Tensor dk = needs[1] ? empty(kc.shape(), opts) : Tensor();
           Tensor dv = needs[2] ? empty(vc.shape(), opts) : Tensor();
           visit_float(qc.dtype(), "scaled_dot_product_attention", [&](auto tag) {
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

}  // namespace kiln
