#include "cli/inputs.h"

#include "core/error.h"
#include "core/file_io.h"
#include "models/hf.h"

namespace kiln::cli {

LoadedModel load_model_dir(const std::filesystem::path& dir) {
  KILN_CHECK(std::filesystem::is_directory(dir), "model", "{} is not a directory", dir.string());
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
