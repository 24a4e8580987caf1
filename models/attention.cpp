#include "models/attention.h"

#include <tuple>

#include "core/ops.h"

namespace kiln::models {

CausalSelfAttention::CausalSelfAttention(int64_t dim, int64_t heads, bool bias, double dropout,
                                         double proj_init_std, Generator& gen)
    : heads_(heads), dropout_(dropout) {
  KILN_CHECK(heads > 0 && dim % heads == 0, "attention", "n_embd {} is not divisible by n_head {}",
             dim, heads);
  c_attn_ = register_module("c_attn", std::make_shared<Linear>(dim, 3 * dim, bias, gen));
  c_proj_ = register_module("c_proj", std::make_shared<Linear>(dim, dim, bias, gen, proj_init_std));
}

Tensor CausalSelfAttention::forward(const Tensor& x, Generator& dropout_gen, KVCache* cache,
                                    int64_t layer, Tensor* attention_weights) const {
  const int64_t batch = x.size(0), time = x.size(1), dim = x.size(2);
  const int64_t head_dim = dim / heads_;
  const std::vector<Tensor> qkv = split(c_attn_->forward(x), dim, 2);
  // [B, T, C] -> [B, H, T, D]
  auto heads_first = [&](const Tensor& t) {
    return t.reshape({batch, time, heads_, head_dim}).transpose(1, 2);
  };
  const Tensor q = heads_first(qkv[0]);
  Tensor k = heads_first(qkv[1]);
  Tensor v = heads_first(qkv[2]);
  if (cache != nullptr) std::tie(k, v) = cache->append(layer, k, v);

  Tensor y;
  if (attention_weights != nullptr) {
    // The naive path: the same result, with the probabilities it materialises handed back.
    AttentionOptions options;
    options.causal = true;
    options.impl = AttentionImpl::naive;
    Tensor weights;
    std::tie(y, weights) = attention_with_probabilities(q, k, v, options);
    *attention_weights = weights.detach();
  } else {
    y = scaled_dot_product_attention(q, k, v, /*causal=*/true);
  }
  y = y.transpose(1, 2).reshape({batch, time, dim});
  return dropout(c_proj_->forward(y), dropout_, training(), &dropout_gen);
}

}  // namespace kiln::models
