#pragma once
// The GPT-2 family: learned token and position embeddings, pre-LN transformer blocks with
// residual connections, a final LayerNorm, and a classifier tied to the token embedding.
#include <string>
#include <vector>

#include "models/attention.h"
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

class GPT : public Module {
 public:
  explicit GPT(const GPTConfig& config);

  // ids [B, T] (i32/i64) -> logits [B, T, vocab]. With a cache, positions continue after the
  // cached ones and the cache grows by T. With `attention_weights`, one [B, H, T, Tk] tensor
  // per layer is appended (explicit softmax; for visualisation).
  Tensor forward(const Tensor& ids, KVCache* cache = nullptr,
                 std::vector<Tensor>* attention_weights = nullptr);

  // A cache sized for this model: `batch` sequences of up to block_size positions.
  KVCache make_cache(int64_t batch) const;

  const GPTConfig& config() const { return config_; }
  Generator& dropout_generator() { return dropout_gen_; }

 private:
  GPTConfig config_;
  Generator dropout_gen_;
  std::shared_ptr<Embedding> wte_;
  std::shared_ptr<Embedding> wpe_;
  std::vector<std::shared_ptr<Block>> blocks_;
  std::shared_ptr<LayerNorm> ln_f_;
  std::shared_ptr<Linear> lm_head_;  // only when the classifier is not tied
};

}  // namespace kiln::models
