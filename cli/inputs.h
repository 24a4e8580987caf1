#pragma once
// What several subcommands read: a model directory (with its tokenizer), and text given
// inline or by file.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "models/causal_lm.h"
#include "text/tokenizer.h"

namespace kiln::cli {

struct LoadedModel {
  std::unique_ptr<models::CausalLM> model;
  std::unique_ptr<Tokenizer> tokenizer;
};

// A Hugging Face style model directory (its tokenizer files must be there too), or a training
// run's out_dir, meaning its newest checkpoint.
LoadedModel load_model_dir(const std::filesystem::path& dir);

// Moves the model to `device` ("cpu", "cuda", "cuda:N", or "auto": cuda:0 when a GPU is
// visible) and casts it to `dtype` (f32, or bf16/f16 on CUDA): --device and --dtype.
void place_model(models::CausalLM& model, const std::string& device, const std::string& dtype,
                 std::string_view command);

// --text or --file (exactly one); the file is read whole.
std::string read_text_input(const std::optional<std::string>& text,
                            const std::optional<std::string>& file, std::string_view command);

}  // namespace kiln::cli
