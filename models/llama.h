#pragma once
// The Llama family (Llama 2/3, SmolLM, TinyLlama, Qwen2, Mistral without a sliding window):
// token embedding, pre-norm decoder blocks of RMSNorm -> rotary grouped-query attention ->
// residual -> RMSNorm -> SwiGLU MLP -> residual, a final RMSNorm and a classifier, tied to the
// embedding or not. Parameter names are transformers' without the "model." prefix
// ("layers.0.self_attn.q_proj.weight", "embed_tokens.weight", "norm.weight", "lm_head.weight").
#include <string>
#include <vector>

#include "models/causal_lm.h"
#include "models/layers.h"
#include "models/llama_attention.h"
#include "models/rotary.h"

namespace kiln::models {

struct LlamaConfig {
  std::string model_type = "llama";  // llama | qwen2 | mistral: how config.json is written back
  int64_t vocab_size = 32000;
  int64_t block_size = 2048;  // max_position_embeddings
  int64_t n_layer = 12;       // num_hidden_layers
  int64_t n_head = 12;        // num_attention_heads
  int64_t n_kv_head = 12;     // num_key_value_heads
  int64_t n_embd = 768;       // hidden_size
  int64_t intermediate_size = 2048;
  int64_t head_dim = 0;  // 0: n_embd / n_head
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool attention_bias = false;      // q, k, v projections (Qwen2: true)
  bool attention_out_bias = false;  // o_proj (Llama's attention_bias sets both)
  bool mlp_bias = false;
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = false;
  double initializer_range = 0.02;
  uint64_t seed = 0;

  int64_t resolved_head_dim() const { return head_dim > 0 ? head_dim : n_embd / n_head; }
  // Throws naming the field when a value is impossible (n_head % n_kv_head != 0, ...).
  void validate() const;
};

class LlamaBlock : public Module {
 public:
  LlamaBlock(const LlamaConfig& config, Generator* gen);
  Tensor forward(const Tensor& x, const RotaryTables& rotary, KVCache* cache, int64_t layer,
                 Tensor* attention_weights) const;

 private:
  std::shared_ptr<RMSNorm> input_layernorm_;
  std::shared_ptr<LlamaAttention> self_attn_;
  std::shared_ptr<RMSNorm> post_attention_layernorm_;
  std::shared_ptr<GatedMLP> mlp_;
};

class Llama : public CausalLM {
 public:
  // `initialise` false leaves the weights uninitialised, for a model loaded next (models/hf_llama).
  explicit Llama(const LlamaConfig& config, bool initialise = true);

  Tensor forward(const Tensor& ids, KVCache* cache = nullptr,
                 std::vector<Tensor>* attention_weights = nullptr) override;
  KVCache make_cache(int64_t batch) const override;
  LMShape shape() const override;
  std::string model_type() const override { return config_.model_type; }

  const LlamaConfig& config() const { return config_; }

 private:
  // The cos/sin tables of every position, on the weights' device (rebuilt after a move).
  const RotaryTables& rotary();

  LlamaConfig config_;
  std::vector<double> inv_freq_;
  RotaryTables rotary_;
  std::shared_ptr<Embedding> embed_tokens_;
  std::vector<std::shared_ptr<LlamaBlock>> layers_;
  std::shared_ptr<RMSNorm> norm_;
  std::shared_ptr<Linear> lm_head_;  // only when the classifier is not tied
};

}  // namespace kiln::models
