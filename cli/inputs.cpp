#include "cli/inputs.h"

#include "core/error.h"
#include "core/file_io.h"
#include "models/hf.h"
#include "train/checkpoint.h"

namespace kiln::cli {

LoadedModel load_model_dir(const std::filesystem::path& given) {
  KILN_CHECK(std::filesystem::is_directory(given), "model", "{} is not a directory",
             given.string());
  // A training run's out_dir stands for its newest checkpoint.
  const bool is_run = !std::filesystem::exists(given / "config.json") &&
                      std::filesystem::is_directory(given / "checkpoints");
  const std::filesystem::path dir = is_run ? train::latest_checkpoint(given) : given;
  LoadedModel loaded;
  loaded.model = models::load_gpt2(dir);
  loaded.tokenizer = load_tokenizer(dir);
  KILN_CHECK(loaded.tokenizer->vocab_size() <= loaded.model->config().vocab_size, "model",
             "the tokenizer in {} has {} tokens but the model only {}", dir.string(),
             loaded.tokenizer->vocab_size(), loaded.model->config().vocab_size);
  return loaded;
}

std::string read_text_input(const std::optional<std::string>& text,
                            const std::optional<std::string>& file, std::string_view command) {
  KILN_CHECK(text.has_value() != file.has_value(), command, "give exactly one of --text or --file");
  return text ? *text : read_text_file(*file, command);
}

}  // namespace kiln::cli
