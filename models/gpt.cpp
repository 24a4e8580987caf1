#include "models/gpt.h"

#include <cmath>

#include "core/ops.h"

namespace kiln::models {

void GPTConfig::validate() const {
  KILN_CHECK(vocab_size > 0, "config", "vocab_size must be positive, got {}", vocab_size);
  KILN_CHECK(block_size > 0, "config", "block_size must be positive, got {}", block_size);
  KILN_CHECK(n_layer > 0, "config", "n_layer must be positive, got {}", n_layer);
  KILN_CHECK(n_head > 0, "config", "n_head must be positive, got {}", n_head);
  KILN_CHECK(n_embd > 0 && n_embd % n_head == 0, "config",
             "n_embd ({}) must be a positive multiple of n_head ({})", n_embd, n_head);
  KILN_CHECK(dropout >= 0.0 && dropout < 1.0, "config", "dropout must be in [0, 1), got {}",
             dropout);
  KILN_CHECK(layer_norm_eps > 0.0, "config", "layer_norm_eps must be positive, got {}",
             layer_norm_eps);
}

Block::Block(const GPTConfig& config, Generator& gen) {
  // GPT-2 scales the residual projections by 1/sqrt(2 n_layer): each block adds two
  // residual contributions, and this keeps the residual stream's variance from growing.
  const double proj_std = 0.02 / std::sqrt(2.0 * static_cast<double>(config.n_layer));
  ln_1_ = register_module(
      "ln_1", std::make_shared<LayerNorm>(config.n_embd, config.bias, config.layer_norm_eps));
  attn_ = register_module(
      "attn", std::make_shared<CausalSelfAttention>(config.n_embd, config.n_head, config.bias,
                                                    config.dropout, proj_std, gen));
  ln_2_ = register_module(
      "ln_2", std::make_shared<LayerNorm>(config.n_embd, config.bias, config.layer_norm_eps));
  mlp_ = register_module(
      "mlp", std::make_shared<MLP>(config.n_embd, config.bias, config.dropout, proj_std, gen));
}

Tensor Block::forward(const Tensor& x, Generator& dropout_gen, KVCache* cache, int64_t layer,
                      Tensor* attention_weights) const {
  const Tensor h =
      x + attn_->forward(ln_1_->forward(x), dropout_gen, cache, layer, attention_weights);
  return h + mlp_->forward(ln_2_->forward(h), dropout_gen);
}

GPT::GPT(const GPTConfig& config) : CausalLM(config.seed ^ 0xd50u), config_(config) {
  config.validate();
  Generator gen(config.seed);
  wte_ = register_module("wte", std::make_shared<Embedding>(config.vocab_size, config.n_embd, gen));
  wpe_ = register_module("wpe", std::make_shared<Embedding>(config.block_size, config.n_embd, gen));
  for (int64_t i = 0; i < config.n_layer; ++i)
    blocks_.push_back(
        register_module("h." + std::to_string(i), std::make_shared<Block>(config, gen)));
  ln_f_ = register_module(
      "ln_f", std::make_shared<LayerNorm>(config.n_embd, config.bias, config.layer_norm_eps));
  if (!config.tie_word_embeddings)
    lm_head_ = register_module(
        "lm_head", std::make_shared<Linear>(config.n_embd, config.vocab_size, false, gen));
}

Tensor GPT::forward(const Tensor& ids, KVCache* cache, std::vector<Tensor>* attention_weights) {
  KILN_CHECK(ids.dim() == 2, "gpt", "ids have shape {}, expected [batch, time]",
             shape_str(ids.shape()));
  const int64_t time = ids.size(1);
  const int64_t start = cache != nullptr ? cache->length() : 0;
  KILN_CHECK(start + time <= config_.block_size, "gpt",
             "{} positions exceed the context length (block_size) of {}", start + time,
             config_.block_size);
  const Tensor positions = arange(static_cast<double>(start), static_cast<double>(start + time),
                                  1.0, TensorOptions{DType::i64, ids.device()});
  Tensor x = wte_->forward(ids) + wpe_->forward(positions);
  x = dropout(x, config_.dropout, training(), &dropout_generator());
  for (size_t i = 0; i < blocks_.size(); ++i) {
    Tensor weights;
    x = blocks_[i]->forward(x, dropout_generator(), cache, static_cast<int64_t>(i),
                            attention_weights != nullptr ? &weights : nullptr);
    if (attention_weights != nullptr) attention_weights->push_back(weights);
  }
  if (cache != nullptr) cache->advance(time);
  x = ln_f_->forward(x);
  return lm_head_ ? lm_head_->forward(x) : linear(x, wte_->weight());
}

KVCache GPT::make_cache(int64_t batch) const {
  const Tensor& w = wte_->weight();
  return KVCache(config_.n_layer, batch, config_.n_head, config_.block_size,
                 config_.n_embd / config_.n_head, TensorOptions{w.dtype(), w.device()});
}

LMShape GPT::shape() const {
  return {config_.vocab_size,
          config_.block_size,
          config_.n_layer,
          config_.n_head,
          config_.n_head,
          config_.n_embd,
          config_.n_embd / config_.n_head};
}

}  // namespace kiln::models
