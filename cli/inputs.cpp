#include "cli/inputs.h"

#include "core/device.h"
#include "core/error.h"
#include "core/file_io.h"
#include "models/pretrained.h"
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
  loaded.model = models::load_pretrained(dir);
  loaded.tokenizer = load_tokenizer(dir);
  KILN_CHECK(loaded.tokenizer->vocab_size() <= loaded.model->shape().vocab_size, "model",
             "the tokenizer in {} has {} tokens but the model only {}", dir.string(),
             loaded.tokenizer->vocab_size(), loaded.model->shape().vocab_size);
  return loaded;
}

void place_model(models::CausalLM& model, const std::string& device, const std::string& dtype,
                 std::string_view command) {
  const Device target = device == "auto" ? (cuda_available() ? Device::cuda(0) : Device::cpu())
                                         : parse_device(device);
  const DType type = parse_dtype(dtype);
  KILN_CHECK(type == DType::f32 || type == DType::bf16 || type == DType::f16, command,
             "--dtype {} is not one of f32, bf16, f16", dtype);
  KILN_CHECK(type == DType::f32 || target.is_cuda(), command,
             "--dtype {} needs --device cuda; the CPU runs models in f32", dtype);
  model.to(target);
  model.to(type);
}

std::string read_text_input(const std::optional<std::string>& text,
                            const std::optional<std::string>& file, std::string_view command) {
  KILN_CHECK(text.has_value() != file.has_value(), command, "give exactly one of --text or --file");
  return text ? *text : read_text_file(*file, command);
}

}  // namespace kiln::cli
