#pragma once
#include <optional>

#include "core/tensor.h"

namespace kiln {

// softmax(q kᵀ * scale [+ causal mask]) v, fused.
// q [B, H, Tq, D]; k, v [B, Hkv, Tk, D] with H a multiple of Hkv (grouped-query attention:
// query head h reads kv head h / (H / Hkv)). scale defaults to 1/sqrt(D). The causal mask is
// aligned bottom-right as in softmax(): query i sees keys j <= i + (Tk - Tq).
// Returns [B, H, Tq, D]. The attention matrix is never materialised.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    bool causal = false, std::optional<double> scale = {});

}  // namespace kiln
