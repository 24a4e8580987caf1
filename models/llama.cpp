#include "models/llama.h"

#include "core/ops.h"

namespace kiln::models {

void LlamaConfig::validate() const {
  KILN_CHECK(vocab_size > 0, "config", "vocab_size must be positive, got {}", vocab_size);
  KILN_CHECK(block_size > 0, "config", "block_size must be positive, got {}", block_size);
  KILN_CHECK(n_layer > 0, "config", "n_layer must be positive, got {}", n_layer);
  KILN_CHECK(n_head > 0, "config", "n_head must be positive, got {}", n_head);
  KILN_CHECK(n_kv_head > 0 && n_head % n_kv_head == 0, "config",
             "n_head ({}) must be a multiple of n_kv_head ({})", n_head, n_kv_head);
  KILN_CHECK(n_embd > 0, "config", "n_embd must be positive, got {}", n_embd);
  KILN_CHECK(head_dim > 0 || n_embd % n_head == 0, "config",
             "n_embd ({}) must be a multiple of n_head ({}) unless head_dim is given", n_embd,
             n_head);
  KILN_CHECK(head_dim >= 0, "config", "head_dim must not be negative, got {}", head_dim);
  KILN_CHECK(resolved_head_dim() % 2 == 0, "config",
             "head_dim ({}) must be even (rotary embeddings rotate pairs)", resolved_head_dim());
  KILN_CHECK(intermediate_size > 0, "config", "intermediate_size must be positive, got {}",
             intermediate_size);
  KILN_CHECK(rope_theta > 0.0, "config", "rope_theta must be positive, got {}", rope_theta);
  KILN_CHECK(rms_norm_eps > 0.0, "config", "rms_norm_eps must be positive, got {}", rms_norm_eps);
  KILN_CHECK(model_type == "llama" || model_type == "qwen2" || model_type == "mistral", "config",
             "model_type '{}' is not a Llama-family type, expected llama, qwen2 or mistral",
             model_type);
  // What transformers' classes of each type have, so a saved model loads there as the same net.
  if (model_type == "qwen2")
    KILN_CHECK(attention_bias && !attention_out_bias && !mlp_bias &&
                   resolved_head_dim() * n_head == n_embd,
               "config",
               "model_type qwen2 has q/k/v biases only and head_dim = n_embd / n_head, expected "
               "attention_bias true, no other bias, no head_dim");
  if (model_type == "mistral")
    KILN_CHECK(!attention_bias && !attention_out_bias && !mlp_bias, "config",
               "model_type mistral has no biases");
  if (model_type == "llama")
    KILN_CHECK(attention_bias == attention_out_bias, "config",
               "model_type llama biases q, k, v and o_proj together (attention_bias)");
  rope_scaling.validate();
}

LlamaBlock::LlamaBlock(const LlamaConfig& config, Generator* gen) {
  input_layernorm_ = register_module("input_layernorm",
                                     std::make_shared<RMSNorm>(config.n_embd, config.rms_norm_eps));
  self_attn_ = register_module(
      "self_attn",
      std::make_shared<LlamaAttention>(config.n_embd, config.n_head, config.n_kv_head,
                                       config.resolved_head_dim(), config.attention_bias,
                                       config.attention_out_bias, gen, config.initializer_range));
  post_attention_layernorm_ = register_module(
      "post_attention_layernorm", std::make_shared<RMSNorm>(config.n_embd, config.rms_norm_eps));
  mlp_ = register_module(
      "mlp", std::make_shared<GatedMLP>(config.n_embd, config.intermediate_size, config.mlp_bias,
                                        gen, config.initializer_range));
}

Tensor LlamaBlock::forward(const Tensor& x, const RotaryTables& rotary, KVCache* cache,
                           int64_t layer, Tensor* attention_weights) const {
  const Tensor h = x + self_attn_->forward(input_layernorm_->forward(x), rotary, cache, layer,
                                           attention_weights);
  return h + mlp_->forward(post_attention_layernorm_->forward(h));
}

Llama::Llama(const LlamaConfig& config, bool initialise)
    : CausalLM(config.seed ^ 0xd50u), config_(config) {
  config.validate();
  inv_freq_ =
      rope_inverse_frequencies(config.resolved_head_dim(), config.rope_theta, config.rope_scaling);
  Generator gen(config.seed);
  Generator* init = initialise ? &gen : nullptr;
  embed_tokens_ = register_module(
      "embed_tokens", initialise ? std::make_shared<Embedding>(config.vocab_size, config.n_embd,
                                                               gen, config.initializer_range)
                                 : std::make_shared<Embedding>(config.vocab_size, config.n_embd));
  for (int64_t i = 0; i < config.n_layer; ++i)
    layers_.push_back(
        register_module("layers." + std::to_string(i), std::make_shared<LlamaBlock>(config, init)));
  norm_ = register_module("norm", std::make_shared<RMSNorm>(config.n_embd, config.rms_norm_eps));
  if (!config.tie_word_embeddings)
    lm_head_ = register_module("lm_head", make_linear(config.n_embd, config.vocab_size, false, init,
                                                      config.initializer_range));
}

const RotaryTables& Llama::rotary() {
  const Device device = embed_tokens_->weight().device();
  if (!rotary_.cos.defined() || rotary_.cos.device() != device) {
    auto [cos, sin] = rope_tables(inv_freq_, config_.block_size, device);
    rotary_ = {cos, sin};
  }
  return rotary_;
}

Tensor Llama::forward(const Tensor& ids, KVCache* cache, std::vector<Tensor>* attention_weights) {
  KILN_CHECK(ids.dim() == 2, "llama", "ids have shape {}, expected [batch, time]",
             shape_str(ids.shape()));
  const int64_t time = ids.size(1);
  const int64_t start = cache != nullptr ? cache->length() : 0;
  KILN_CHECK(start + time <= config_.block_size, "llama",
             "{} positions exceed the context length (max_position_embeddings) of {}", start + time,
             config_.block_size);
  const RotaryTables& tables = rotary();
  Tensor x = embed_tokens_->forward(ids);
  for (size_t i = 0; i < layers_.size(); ++i) {
    Tensor weights;
    x = layers_[i]->forward(x, tables, cache, static_cast<int64_t>(i),
                            attention_weights != nullptr ? &weights : nullptr);
    if (attention_weights != nullptr) attention_weights->push_back(weights);
  }
  if (cache != nullptr) cache->advance(time);
  x = norm_->forward(x);
  return lm_head_ ? lm_head_->forward(x) : linear(x, embed_tokens_->weight());
}

KVCache Llama::make_cache(int64_t batch) const {
  const Tensor& w = embed_tokens_->weight();
  return KVCache(config_.n_layer, batch, config_.n_kv_head, config_.block_size,
                 config_.resolved_head_dim(), TensorOptions{w.dtype(), w.device()});
}

LMShape Llama::shape() const {
  return {config_.vocab_size,
          config_.block_size,
          config_.n_layer,
          config_.n_head,
          config_.n_kv_head,
          config_.n_embd,
          config_.resolved_head_dim()};
}

}  // namespace kiln::models
