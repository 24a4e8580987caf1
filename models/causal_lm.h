#pragma once
// What the trainer, generation, evaluation and the CLI need from a language model, whatever its
// family (GPT-2: models/gpt.h; Llama, Qwen2, Mistral: models/llama.h). Family-specific code
// (Hugging Face import and export) dynamic_casts to the concrete class.
#include <string>
#include <vector>

#include "core/random.h"
#include "models/kv_cache.h"
#include "models/module.h"

namespace kiln::models {

// The sizes shared by both families; n_embd is the residual width (hidden_size).
struct LMShape {
  int64_t vocab_size = 0;
  int64_t block_size = 0;  // the longest context
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_kv_head = 0;  // n_head unless grouped-query attention
  int64_t n_embd = 0;
  int64_t head_dim = 0;
};

class CausalLM : public Module {
 public:
  // ids [B, T] (i32/i64) -> logits [B, T, vocab]. With a cache, positions continue after the
  // cached ones and the cache grows by T. With `attention_weights`, one [B, H, T, Tk] tensor
  // per layer is appended (explicit softmax; for visualisation).
  virtual Tensor forward(const Tensor& ids, KVCache* cache = nullptr,
                         std::vector<Tensor>* attention_weights = nullptr) = 0;
  // A cache sized for this model: `batch` sequences of up to block_size positions.
  virtual KVCache make_cache(int64_t batch) const = 0;
  virtual LMShape shape() const = 0;
  // Hugging Face's model_type: "gpt2", "llama", "qwen2", "mistral".
  virtual std::string model_type() const = 0;
  Generator& dropout_generator() { return dropout_gen_; }

 protected:
  explicit CausalLM(uint64_t dropout_seed) : dropout_gen_(dropout_seed) {}

 private:
  Generator dropout_gen_;
};

}  // namespace kiln::models
