#include "models/llama_attention.h"

#include <tuple>

#include "core/ops.h"

namespace kiln::models {

LlamaAttention::LlamaAttention(int64_t dim, int64_t heads, int64_t kv_heads, int64_t head_dim,
                               bool qkv_bias, bool out_bias, Generator* gen, double init_std)
    : heads_(heads), kv_heads_(kv_heads), head_dim_(head_dim) {
  q_proj_ = register_module("q_proj", make_linear(dim, heads * head_dim, qkv_bias, gen, init_std));
  k_proj_ =
      register_module("k_proj", make_linear(dim, kv_heads * head_dim, qkv_bias, gen, init_std));
  v_proj_ =
      register_module("v_proj", make_linear(dim, kv_heads * head_dim, qkv_bias, gen, init_std));
  o_proj_ = register_module("o_proj", make_linear(heads * head_dim, dim, out_bias, gen, init_std));
}

Tensor LlamaAttention::forward(const Tensor& x, const RotaryTables& rotary, KVCache* cache,
                               int64_t layer, Tensor* attention_weights) const {
  const int64_t batch = x.size(0), time = x.size(1);
  const int64_t start = cache != nullptr ? cache->length() : 0;
  // The projections come out [B, T, H·D]; RoPE rotates them there as [B, T, H, D] (contiguous,
  // no copy) before the heads move ahead of time for attention.
  auto rotated_heads = [&](const Tensor& t, int64_t heads) {
    return rope(t.reshape({batch, time, heads, head_dim_}), rotary.cos, rotary.sin, start, 1)
        .transpose(1, 2);
  };
  const Tensor q = rotated_heads(q_proj_->forward(x), heads_);
  Tensor k = rotated_heads(k_proj_->forward(x), kv_heads_);
  Tensor v = v_proj_->forward(x).reshape({batch, time, kv_heads_, head_dim_}).transpose(1, 2);
  if (cache != nullptr) std::tie(k, v) = cache->append(layer, k, v);

  Tensor y;
  if (attention_weights != nullptr) {
    AttentionOptions options;
    options.causal = true;
    options.impl = AttentionImpl::naive;
    Tensor weights;
    std::tie(y, weights) = attention_with_probabilities(q, k, v, options);
    *attention_weights = weights.detach();
  } else {
    y = scaled_dot_product_attention(q, k, v, /*causal=*/true);
  }
  return o_proj_->forward(y.transpose(1, 2).reshape({batch, time, heads_ * head_dim_}));
}

}  // namespace kiln::models
