#pragma once
// GPT-2's causal multi-head self-attention: one fused projection to q, k, v (c_attn), the
// fused scaled_dot_product_attention op, and the output projection (c_proj).
#include "models/kv_cache.h"
#include "models/layers.h"

namespace kiln::models {

class CausalSelfAttention : public Module {
 public:
  CausalSelfAttention(int64_t dim, int64_t heads, bool bias, double dropout, double proj_init_std,
                      Generator& gen);

  // x [B, T, C] -> [B, T, C]. With a cache, k/v of x are appended at `layer` and the queries
  // attend to every cached position. With `attention_weights`, the softmax matrix of each head
  // [B, H, T, Tk] is computed explicitly (for heat maps) and stored there.
  Tensor forward(const Tensor& x, Generator& dropout_gen, KVCache* cache = nullptr,
                 int64_t layer = 0, Tensor* attention_weights = nullptr) const;

  int64_t heads() const { return heads_; }

 private:
  std::shared_ptr<Linear> c_attn_;
  std::shared_ptr<Linear> c_proj_;
  int64_t heads_;
  double dropout_;
};

}  // namespace kiln::models
