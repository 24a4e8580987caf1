#pragma once
// Hugging Face GPT-2 layout in and out: a directory with config.json and model.safetensors,
// as transformers' GPT2LMHeadModel reads and writes it.
#include <filesystem>
#include <memory>
#include <optional>

#include "models/gpt.h"
#include "models/special_token_ids.h"

namespace kiln::models {

// GPT-2 config.json -> GPTConfig (vocab_size, n_positions, n_embd, n_layer, n_head,
// layer_norm_epsilon, tie_word_embeddings, resid_pdrop; n_inner must be null or 4 * n_embd).
// Missing or ill-typed keys (an integer key holding 64.5 or "64" included) are one kiln::Error
// naming the file and key.
GPTConfig read_gpt2_config(const std::filesystem::path& dir);

// Loads a GPT-2 directory. Tensor names may carry the `transformer.` prefix; Conv1D weights
// ([in, out]) are transposed to kiln's [out, in]; the attn.bias / attn.masked_bias buffers are
// ignored; lm_head.weight is used when the embeddings are not tied. F32, F16 and BF16 files
// load, converted to `dtype`. Missing, unexpected or misshapen tensors are errors naming them.
std::unique_ptr<GPT> load_gpt2(const std::filesystem::path& dir, DType dtype = DType::f32);

// Writes config.json and model.safetensors (F32, `transformer.`-prefixed names, Conv1D
// layout, tied lm_head omitted) so transformers' GPT2LMHeadModel.from_pretrained loads it.
// bos_token_id / eos_token_id are written when `ids` has them (an id outside the vocabulary is
// a kiln::Error); attn_pdrop is 0 (kiln has no attention dropout). Each file is written to a
// temporary name and renamed.
void save_gpt2(const GPT& model, const std::filesystem::path& dir, const SpecialTokenIds& ids = {});

}  // namespace kiln::models
