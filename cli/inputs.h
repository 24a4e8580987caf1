#pragma once
// What several subcommands read: a model directory (with its tokenizer), and text given
// inline or by file.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "models/gpt.h"
#include "text/tokenizer.h"

namespace kiln::cli {

struct LoadedModel {
  std::unique_ptr<models::GPT> model;
  std::unique_ptr<Tokenizer> tokenizer;
};

// A Hugging Face style model directory (its tokenizer files must be there too), or a training
// run's out_dir, meaning its newest checkpoint.
LoadedModel load_model_dir(const std::filesystem::path& dir);

// --text or --file (exactly one); the file is read whole.
std::string read_text_input(const std::optional<std::string>& text,
                            const std::optional<std::string>& file, std::string_view command);

}  // namespace kiln::cli
