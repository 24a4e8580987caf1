#pragma once
// The GPT-2 family: learned token and position embeddings, pre-LN transformer blocks with
// residual connections, a final LayerNorm, and a classifier tied to the token embedding.
#include <string>
#include <vector>

#include "models/attention.h"
#include "models/causal_lm.h"
#include "models/kv_cache.h"
#include "models/layers.h"

namespace kiln::models {

struct GPTConfig {
  int64_t vocab_size = 50257;
  int64_t block_size = 1024;  // n_positions: the longest context
  int64_t n_layer = 12;
  int64_t n_head = 12;
  int64_t n_embd = 768;
  double dropout = 0.0;  // embeddings, residual branches
  bool bias = true;
  double layer_norm_eps = 1e-5;
  bool tie_word_embeddings = true;
  uint64_t seed = 0;  // initialisation and dropout

  // Throws naming the field when a value is impossible (n_embd % n_head != 0, ...).
  void validate() const;
};

class Block : public Module {
 public:
  Block(const GPTConfig& config, Generator& gen);
  Tensor forward(const Tensor& x, Generator& dropout_gen, KVCache* cache, int64_t layer,
                 Tensor* attention_weights) const;

 private:
  std::shared_ptr<LayerNorm> ln_1_;
  std::shared_ptr<CausalSelfAttention> attn_;
  std::shared_ptr<LayerNorm> ln_2_;
  std::shared_ptr<MLP> mlp_;
};

class GPT : public CausalLM {
 public:
  explicit GPT(const GPTConfig& config);

  Tensor forward(const Tensor& ids, KVCache* cache = nullptr,
                 std::vector<Tensor>* attention_weights = nullptr) override;
  KVCache make_cache(int64_t batch) const override;
  LMShape shape() const override;
  std::string model_type() const override { return "gpt2"; }

  const GPTConfig& config() const { return config_; }

 private:
  GPTConfig config_;
  std::shared_ptr<Embedding> wte_;
  std::shared_ptr<Embedding> wpe_;
  std::vector<std::shared_ptr<Block>> blocks_;
  std::shared_ptr<LayerNorm> ln_f_;
  std::shared_ptr<Linear> lm_head_;  // only when the classifier is not tied
};

}  // namespace kiln::models
