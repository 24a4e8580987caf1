#pragma once
// Hugging Face layout of Llama-family models in and out: config.json with model_type llama,
// qwen2 or mistral (LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM), and
// model.safetensors or shards model-0000N-of-0000M.safetensors listed by
// model.safetensors.index.json. Tensors are named "model.layers.N.self_attn.q_proj.weight",
// "model.embed_tokens.weight", "model.norm.weight", "lm_head.weight".
#include <filesystem>
#include <memory>

#include "models/llama.h"
#include "models/special_token_ids.h"

namespace kiln::models {

// config.json -> LlamaConfig. Options kiln does not implement are refused by name: a sliding
// window that is used, rope_scaling types other than linear and llama3, mixture-of-experts keys,
// activations other than silu. Missing or ill-typed keys are errors naming the file and key.
LlamaConfig read_llama_config(const std::filesystem::path& dir);

// Loads a directory, reading each tensor straight into its parameter (no initialisation first)
// from the memory-mapped file(s). F32, BF16 and F16 files load, converted to `dtype`.
// lm_head.weight is ignored when the embeddings are tied, and the rotary inv_freq buffers older
// checkpoints carry are skipped. Missing shards, and missing, unexpected or misshapen tensors
// are errors naming them.
std::unique_ptr<Llama> load_llama(const std::filesystem::path& dir, DType dtype = DType::f32);

// Writes config.json and model.safetensors (F32; a tied lm_head omitted) so transformers'
// AutoModelForCausalLM.from_pretrained loads it; bos_token_id / eos_token_id when `ids` has
// them. Each file is written to a temporary name and renamed.
void save_llama(const Llama& model, const std::filesystem::path& dir,
                const SpecialTokenIds& ids = {});

}  // namespace kiln::models
