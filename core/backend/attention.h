#pragma once
// Fused scaled-dot-product attention on each device (see core/backend/on_device.h). q, k, v,
// out and the gradients are contiguous [B, H, T, D] (k and v with the kv heads); lse [B, H, Tq]
// is the log-sum-exp of each query's scores, f32 on CUDA (the backward's probabilities are
// exp(s - lse), and a 16-bit lse would cost them their precision), q's dtype on the CPU. The
// backward writes the gradients that are defined; `deterministic` selects the CUDA dQ reduction
// that gives the same bits on every run.
#include <string_view>

#include "core/tensor.h"
#include "kernels/attention.h"

namespace kiln::backend {

struct AttentionBackend {
  void (*forward)(std::string_view op, const Tensor& q, const Tensor& k, const Tensor& v,
                  const Tensor& out, const Tensor& lse, const kernels::AttentionDims& dims);
  void (*backward)(std::string_view op, const Tensor& q, const Tensor& k, const Tensor& v,
                   const Tensor& out, const Tensor& lse, const Tensor& grad, const Tensor& dq,
                   const Tensor& dk, const Tensor& dv, const kernels::AttentionDims& dims,
                   bool deterministic);

  static const AttentionBackend& cpu();
  static const AttentionBackend& cuda();
};

}  // namespace kiln::backend
