#pragma once
// Llama's self-attention: separate q/k/v projections (biased in Qwen2), rotary position
// embeddings on q and k, grouped-query attention (n_kv_head key/value heads, each shared by
// n_head / n_kv_head query heads) and the output projection o_proj. The KV cache holds the
// n_kv_head rotated keys and values, not copies per query head.
#include "models/kv_cache.h"
#include "models/layers.h"

namespace kiln::models {

struct RotaryTables {
  Tensor cos;  // [positions, head_dim / 2], f32
  Tensor sin;
};

class LlamaAttention : public Module {
 public:
  // With a null generator the weights are left uninitialised (loaded next).
  LlamaAttention(int64_t dim, int64_t heads, int64_t kv_heads, int64_t head_dim, bool qkv_bias,
                 bool out_bias, Generator* gen, double init_std);

  // x [B, T, C] at positions start.. (start = the cache's length) -> [B, T, C].
  Tensor forward(const Tensor& x, const RotaryTables& rotary, KVCache* cache, int64_t layer,
                 Tensor* attention_weights) const;

 private:
  std::shared_ptr<Linear> q_proj_;
  std::shared_ptr<Linear> k_proj_;
  std::shared_ptr<Linear> v_proj_;
  std::shared_ptr<Linear> o_proj_;
  int64_t heads_;
  int64_t kv_heads_;
  int64_t head_dim_;
};

}  // namespace kiln::models
