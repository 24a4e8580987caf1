#pragma once
// Hugging Face GPT-2 layout in and out: a directory with config.json and model.safetensors,
// as transformers' GPT2LMHeadModel reads and writes it.
#include <filesystem>
#include <memory>

#include "models/gpt.h"

namespace kiln::models {

// GPT-2 config.json -> GPTConfig (vocab_size, n_positions, n_embd, n_layer, n_head,
// layer_norm_epsilon, tie_word_embeddings, resid_pdrop). Missing or ill-typed keys are an
// error naming the file and key.
GPTConfig read_gpt2_config(const std::filesystem::path& dir);

// Loads a GPT-2 directory. Tensor names may carry the `transformer.` prefix; Conv1D weights
// ([in, out]) are transposed to kiln's [out, in]; the attn.bias / attn.masked_bias buffers are
// ignored; lm_head.weight is used when the embeddings are not tied. F32, F16 and BF16 files
// load, converted to `dtype`. Missing, unexpected or misshapen tensors are errors naming them.
std::unique_ptr<GPT> load_gpt2(const std::filesystem::path& dir, DType dtype = DType::f32);

// Writes config.json and model.safetensors (F32, `transformer.`-prefixed names, Conv1D
// layout, tied lm_head omitted) so transformers' GPT2LMHeadModel.from_pretrained loads it.
// Each file is written to a temporary name and renamed.
void save_gpt2(const GPT& model, const std::filesystem::path& dir);

}  // namespace kiln::models
