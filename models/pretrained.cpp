#include "models/pretrained.h"

#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "models/hf.h"
#include "models/hf_llama.h"

namespace kiln::models {
namespace fs = std::filesystem;

std::string read_model_type(const fs::path& dir) {
  const fs::path path = dir / "config.json";
  KILN_CHECK(fs::exists(path), "hf", "{} not found (a model directory needs config.json)",
             path.string());
  const nlohmann::json config = read_json_file(path, "hf");
  KILN_CHECK(config.is_object(), "hf", "{} is not a JSON object", path.string());
  if (!config.contains("model_type") || config["model_type"].is_null()) return "gpt2";
  KILN_CHECK(config["model_type"].is_string(), "hf", "{}: 'model_type' is {}, expected a string",
             path.string(), config["model_type"].dump());
  return config["model_type"].get<std::string>();
}

std::unique_ptr<CausalLM> load_pretrained(const fs::path& dir, DType dtype) {
  const std::string type = read_model_type(dir);
  if (type == "gpt2") return load_gpt2(dir, dtype);
  if (type == "llama" || type == "qwen2" || type == "mistral") return load_llama(dir, dtype);
  fail("hf", "{}: model_type '{}' is not supported, expected gpt2, llama, qwen2 or mistral",
       (dir / "config.json").string(), type);
}

void save_pretrained(const CausalLM& model, const fs::path& dir, const SpecialTokenIds& ids) {
  if (const auto* gpt = dynamic_cast<const GPT*>(&model)) return save_gpt2(*gpt, dir, ids);
  if (const auto* llama = dynamic_cast<const Llama*>(&model)) return save_llama(*llama, dir, ids);
  fail("hf", "cannot save a model of type '{}'", model.model_type());
}

}  // namespace kiln::models
