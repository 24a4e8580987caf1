#include "models/hf_llama.h"

#include <nlohmann/json.hpp>

#include <map>
#include <set>

#include "core/autograd.h"
#include "core/file_io.h"
#include "core/safetensors.h"

namespace kiln::models {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::string_view kPrefix = "model.";
constexpr std::string_view kIndex = "model.safetensors.index.json";

template <typename T>
T get_key(const json& config, const char* key, const fs::path& path,
          std::optional<T> fallback = {}) {
  if (!config.contains(key) || config[key].is_null()) {
    KILN_CHECK(fallback.has_value(), "hf", "{} has no '{}'", path.string(), key);
    return *fallback;
  }
  try {
    return config[key].get<T>();
  } catch (const json::exception&) {
    fail("hf", "{}: '{}' has the wrong type ({})", path.string(), key, config[key].dump());
  }
}

bool is_set(const json& config, const char* key) {
  return config.contains(key) && !config[key].is_null();
}

RopeScaling read_rope_scaling(const json& config, const fs::path& path, int64_t context) {
  RopeScaling s;
  if (!is_set(config, "rope_scaling")) return s;
  const json& r = config["rope_scaling"];
  KILN_CHECK(r.is_object(), "hf", "{}: 'rope_scaling' is {}, expected an object or null",
             path.string(), r.dump());
  // transformers reads "rope_type" and, in older files, "type".
  const char* type_key = r.contains("rope_type") ? "rope_type" : "type";
  const std::string type = get_key<std::string>(r, type_key, path);
  if (type == "default") return s;
  KILN_CHECK(type == "linear" || type == "llama3", "hf",
             "{}: rope_scaling type '{}' is not supported, expected linear or llama3",
             path.string(), type);
  s.type = type;
  s.factor = get_key<double>(r, "factor", path);
  if (type == "llama3") {
    s.low_freq_factor = get_key<double>(r, "low_freq_factor", path);
    s.high_freq_factor = get_key<double>(r, "high_freq_factor", path);
    s.original_max_position_embeddings =
        get_key<int64_t>(r, "original_max_position_embeddings", path, context);
  }
  return s;
}

// Refuses what would silently compute a different network.
void refuse_unsupported(const json& config, const std::string& type, int64_t context,
                        const fs::path& path) {
  for (const char* key : {"num_local_experts", "num_experts", "num_experts_per_tok",
                          "moe_intermediate_size", "n_routed_experts"})
    KILN_CHECK(!is_set(config, key), "hf",
               "{}: '{}' is set: mixture-of-experts models are not supported", path.string(), key);
  const std::string act = get_key<std::string>(config, "hidden_act", path, "silu");
  KILN_CHECK(act == "silu", "hf", "{}: hidden_act '{}' is not supported, expected silu",
             path.string(), act);
  if (type == "qwen2") {
    KILN_CHECK(!get_key<bool>(config, "use_sliding_window", path, false), "hf",
               "{}: 'use_sliding_window' is true: sliding-window attention is not supported",
               path.string());
  } else if (is_set(config, "sliding_window")) {
    const int64_t window = get_key<int64_t>(config, "sliding_window", path);
    KILN_CHECK(window >= context, "hf",
               "{}: 'sliding_window' {} is shorter than the context {}: sliding-window attention "
               "is not supported",
               path.string(), window, context);
  }
}

// The safetensors files of a directory: model.safetensors, or the shards the index names.
struct Weights {
  std::vector<SafetensorsFile> files;
  std::map<std::string, size_t> where;  // tensor name -> index into files
  std::string description;              // for messages
};

Weights open_weights(const fs::path& dir) {
  Weights w;
  const fs::path index = dir / kIndex;
  if (fs::exists(index)) {
    const json j = read_json_file(index, "hf");
    KILN_CHECK(j.is_object() && j.contains("weight_map") && j["weight_map"].is_object(), "hf",
               "{} has no 'weight_map' object", index.string());
    std::map<std::string, size_t> shard_of_file;
    for (const auto& [name, file] : j["weight_map"].items()) {
      KILN_CHECK(file.is_string(), "hf", "{}: weight_map entry '{}' is {}, expected a file name",
                 index.string(), name, file.dump());
      const std::string shard = file.get<std::string>();
      auto it = shard_of_file.find(shard);
      if (it == shard_of_file.end()) {
        const fs::path path = dir / shard;
        KILN_CHECK(fs::exists(path), "hf", "{} names shard {}, which is missing", index.string(),
                   path.string());
        w.files.emplace_back(path);
        it = shard_of_file.emplace(shard, w.files.size() - 1).first;
      }
      KILN_CHECK(w.files[it->second].contains(name), "hf", "{} puts '{}' in {}, which lacks it",
                 index.string(), name, shard);
      w.where[name] = it->second;
    }
    w.description = index.string();
    return w;
  }
  const fs::path single = dir / "model.safetensors";
  KILN_CHECK(fs::exists(single), "hf", "{} has neither model.safetensors nor {}", dir.string(),
             kIndex);
  w.files.emplace_back(single);
  for (const std::string& name : w.files[0].names()) w.where[name] = 0;
  w.description = single.string();
  return w;
}

bool is_ignored_buffer(const std::string& name) {
  return name.ends_with(".rotary_emb.inv_freq");
}

std::string architecture(const std::string& type) {
  if (type == "qwen2") return "Qwen2ForCausalLM";
  if (type == "mistral") return "MistralForCausalLM";
  return "LlamaForCausalLM";
}

}  // namespace

LlamaConfig read_llama_config(const fs::path& dir) {
  const fs::path path = dir / "config.json";
  KILN_CHECK(fs::exists(path), "hf", "{} not found (a model directory needs config.json)",
             path.string());
  const json config = read_json_file(path, "hf");
  KILN_CHECK(config.is_object(), "hf", "{} is not a JSON object", path.string());
  LlamaConfig c;
  c.model_type = get_key<std::string>(config, "model_type", path);
  KILN_CHECK(c.model_type == "llama" || c.model_type == "qwen2" || c.model_type == "mistral", "hf",
             "{}: model_type '{}' is not supported, expected llama, qwen2 or mistral",
             path.string(), c.model_type);
  c.vocab_size = get_key<int64_t>(config, "vocab_size", path);
  c.n_embd = get_key<int64_t>(config, "hidden_size", path);
  c.intermediate_size = get_key<int64_t>(config, "intermediate_size", path);
  c.n_layer = get_key<int64_t>(config, "num_hidden_layers", path);
  c.n_head = get_key<int64_t>(config, "num_attention_heads", path);
  c.n_kv_head = get_key<int64_t>(config, "num_key_value_heads", path, c.n_head);
  c.head_dim = get_key<int64_t>(config, "head_dim", path, int64_t{0});
  c.block_size = get_key<int64_t>(config, "max_position_embeddings", path);
  c.rms_norm_eps = get_key<double>(config, "rms_norm_eps", path, 1e-6);
  c.rope_theta = get_key<double>(config, "rope_theta", path, 10000.0);
  c.tie_word_embeddings = get_key<bool>(config, "tie_word_embeddings", path, false);
  c.initializer_range = get_key<double>(config, "initializer_range", path, 0.02);
  refuse_unsupported(config, c.model_type, c.block_size, path);
  c.rope_scaling = read_rope_scaling(config, path, c.block_size);
  if (c.model_type == "qwen2") {
    c.attention_bias = true;  // Qwen2's q/k/v projections always have biases, o_proj none
  } else if (c.model_type == "llama") {
    c.attention_bias = c.attention_out_bias = get_key<bool>(config, "attention_bias", path, false);
    c.mlp_bias = get_key<bool>(config, "mlp_bias", path, false);
  }
  try {
    c.validate();
  } catch (const Error& e) {
    fail("hf", "{}: {}", path.string(), e.what());
  }
  return c;
}

std::unique_ptr<Llama> load_llama(const fs::path& dir, DType dtype) {
  const LlamaConfig config = read_llama_config(dir);
  const Weights weights = open_weights(dir);
  auto model = std::make_unique<Llama>(config, /*initialise=*/false);
  NoGradGuard no_grad;
  std::set<std::string> used;
  for (const auto& [name, param] : model->named_parameters()) {
    const std::string stored = name == "lm_head.weight" ? name : std::string(kPrefix) + name;
    const auto it = weights.where.find(stored);
    KILN_CHECK(it != weights.where.end(), "hf", "{} has no tensor '{}'", weights.description,
               stored);
    const SafetensorsFile& file = weights.files[it->second];
    const SafetensorsTensorInfo& info = file.info(stored);
    KILN_CHECK(info.shape == param.shape(), "hf",
               "{}: tensor '{}' has shape {}, expected {} for this config", file.path().string(),
               stored, shape_str(info.shape), shape_str(param.shape()));
    // One copy out of the mapping (converted on the way when the dtypes differ), which becomes
    // the parameter's storage: the uninitialised allocation is never touched.
    adopt_storage(param, file.load(stored, dtype));
    used.insert(stored);
  }
  for (const auto& [name, index] : weights.where) {
    if (used.count(name) != 0 || is_ignored_buffer(name)) continue;
    if (name == "lm_head.weight" && config.tie_word_embeddings) continue;
    fail("hf", "{}: unexpected tensor '{}'", weights.files[index].path().string(), name);
  }
  return model;
}

void save_llama(const Llama& model, const fs::path& dir, const SpecialTokenIds& ids) {
  check_special_ids(ids, model.config().vocab_size);
  std::error_code ec;
  fs::create_directories(dir, ec);
  KILN_CHECK(!ec, "hf", "cannot create {}: {}", dir.string(), ec.message());
  const LlamaConfig& c = model.config();
  NoGradGuard no_grad;
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& [name, param] : model.named_parameters())
    tensors.emplace_back(name == "lm_head.weight" ? name : std::string(kPrefix) + name,
                         param.detach().to(DType::f32));
  // transformers' index-free single file; the index would name it for shards only.
  fs::remove(dir / kIndex, ec);
  save_safetensors(dir / "model.safetensors", tensors, {{"format", "pt"}});

  json config = {
      {"architectures", {architecture(c.model_type)}},
      {"model_type", c.model_type},
      {"vocab_size", c.vocab_size},
      {"hidden_size", c.n_embd},
      {"intermediate_size", c.intermediate_size},
      {"num_hidden_layers", c.n_layer},
      {"num_attention_heads", c.n_head},
      {"num_key_value_heads", c.n_kv_head},
      {"head_dim", c.resolved_head_dim()},
      {"max_position_embeddings", c.block_size},
      {"hidden_act", "silu"},
      {"rms_norm_eps", c.rms_norm_eps},
      {"rope_theta", c.rope_theta},
      {"tie_word_embeddings", c.tie_word_embeddings},
      {"initializer_range", c.initializer_range},
      {"attention_dropout", 0.0},
      {"torch_dtype", "float32"},
  };
  if (c.model_type == "llama") {
    config["attention_bias"] = c.attention_bias;
    config["mlp_bias"] = c.mlp_bias;
  }
  if (ids.bos) config["bos_token_id"] = *ids.bos;
  if (ids.eos) config["eos_token_id"] = *ids.eos;
  if (c.model_type == "qwen2") config["use_sliding_window"] = false;
  if (c.model_type == "mistral") config["sliding_window"] = nullptr;
  if (c.rope_scaling.type == "none") {
    config["rope_scaling"] = nullptr;
  } else {
    json r = {{"rope_type", c.rope_scaling.type}, {"factor", c.rope_scaling.factor}};
    if (c.rope_scaling.type == "llama3") {
      r["low_freq_factor"] = c.rope_scaling.low_freq_factor;
      r["high_freq_factor"] = c.rope_scaling.high_freq_factor;
      r["original_max_position_embeddings"] = c.rope_scaling.original_max_position_embeddings;
    }
    config["rope_scaling"] = r;
  }
  write_file_atomically(dir / "config.json", config.dump(2) + "\n", "hf");
}

}  // namespace kiln::models
