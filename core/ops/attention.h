#pragma once
#include <optional>
#include <utility>

#include "core/tensor.h"

namespace kiln {

// How scaled_dot_product_attention computes.
enum class AttentionImpl {
  // The fused kernel of the tensors' device: on CUDA the FlashAttention-2 style kernels
  // (kernels/cuda/attention.h), on the CPU the tiled online-softmax kernel. Neither forms the
  // Tq x Tk attention matrix.
  automatic,
  // The textbook composition matmul -> softmax -> matmul with the ordinary ops (autograd through
  // each), on any device: O(Tq · Tk) memory, the probabilities available (heat maps).
  naive,
};

struct AttentionOptions {
  bool causal = false;
  // Defaults to 1/sqrt(head dim).
  std::optional<double> scale;
  AttentionImpl impl = AttentionImpl::automatic;
  // CUDA backward: dq from its own pass over the keys instead of atomic adds, so gradients are
  // bitwise equal across runs (a little slower). The CPU kernels are always deterministic.
  bool deterministic = false;
};

// softmax(q kᵀ * scale [+ causal mask]) v.
// q [B, H, Tq, D]; k, v [B, Hkv, Tk, D] with H a multiple of Hkv (grouped-query attention:
// query head h reads kv head h / (H / Hkv)). The causal mask is aligned bottom-right as in
// softmax(): query i sees keys j <= i + (Tk - Tq); a query that sees no key gives 0.
// Returns [B, H, Tq, D]. Inputs may be any layout; the kernels read contiguous copies.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options);
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    bool causal = false, std::optional<double> scale = {});

// The naive path (options.impl is ignored): {output [B, H, Tq, D], probabilities
// [B, H, Tq, Tk]}, both differentiable.
std::pair<Tensor, Tensor> attention_with_probabilities(const Tensor& q, const Tensor& k,
                                                       const Tensor& v,
                                                       const AttentionOptions& options = {});

}  // namespace kiln
