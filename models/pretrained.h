#pragma once
// A Hugging Face model directory of any family kiln knows, by config.json's model_type: gpt2
// (models/hf.h), or llama, qwen2, mistral (models/hf_llama.h).
#include <filesystem>
#include <memory>
#include <string>

#include "models/causal_lm.h"
#include "models/special_token_ids.h"

namespace kiln::models {

// config.json's model_type ("gpt2" when the key is absent, as in early GPT-2 files).
std::string read_model_type(const std::filesystem::path& dir);

std::unique_ptr<CausalLM> load_pretrained(const std::filesystem::path& dir,
                                          DType dtype = DType::f32);

// Writes the model in its family's layout (save_gpt2 or save_llama), naming `ids` in config.json.
void save_pretrained(const CausalLM& model, const std::filesystem::path& dir,
                     const SpecialTokenIds& ids = {});

}  // namespace kiln::models
