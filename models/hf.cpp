#include "models/hf.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <set>

#include "core/autograd.h"
#include "core/file_io.h"
#include "core/ops/shape.h"
#include "core/safetensors.h"

namespace kiln::models {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::string_view kPrefix = "transformer.";

// GPT-2 keeps these four projections as Conv1D, whose weight is [in, out].
bool is_conv1d_weight(const std::string& name) {
  for (const char* suffix :
       {".attn.c_attn.weight", ".attn.c_proj.weight", ".mlp.c_fc.weight", ".mlp.c_proj.weight"}) {
    if (name.ends_with(suffix)) return true;
  }
  return false;
}

// Buffers transformers stores for the causal mask; kiln computes the mask in the kernel.
bool is_ignored_buffer(const std::string& name) {
  return name.ends_with(".attn.bias") || name.ends_with(".attn.masked_bias");
}

template <typename T>
T get_key(const json& config, const char* key, const fs::path& path,
          std::optional<T> fallback = {}) {
  if (!config.contains(key) || config[key].is_null()) {
    KILN_CHECK(fallback.has_value(), "hf", "{} has no '{}'", path.string(), key);
    return *fallback;
  }
  const json& value = config[key];
  bool typed = false;
  if constexpr (std::is_same_v<T, bool>) {
    typed = value.is_boolean();
  } else if constexpr (std::is_integral_v<T>) {
    typed = value.is_number_integer();  // 64.5 is not silently cut to 64
  } else if constexpr (std::is_floating_point_v<T>) {
    typed = value.is_number();
  } else {
    typed = value.is_string();
  }
  KILN_CHECK(typed, "hf", "{}: '{}' has the wrong type ({})", path.string(), key, value.dump());
  return value.get<T>();
}

}  // namespace

GPTConfig read_gpt2_config(const fs::path& dir) {
  const fs::path path = dir / "config.json";
  KILN_CHECK(fs::exists(path), "hf", "{} not found (a model directory needs config.json)",
             path.string());
  const json config = read_json_file(path, "hf");
  KILN_CHECK(config.is_object(), "hf", "{} is not a JSON object", path.string());
  const std::string type = get_key<std::string>(config, "model_type", path, "gpt2");
  KILN_CHECK(type == "gpt2", "hf", "{}: model_type '{}' is not supported, expected gpt2",
             path.string(), type);
  GPTConfig c;
  c.vocab_size = get_key<int64_t>(config, "vocab_size", path);
  c.block_size = get_key<int64_t>(config, "n_positions", path,
                                  get_key<int64_t>(config, "n_ctx", path, int64_t{1024}));
  c.n_embd = get_key<int64_t>(config, "n_embd", path);
  c.n_layer = get_key<int64_t>(config, "n_layer", path);
  c.n_head = get_key<int64_t>(config, "n_head", path);
  c.layer_norm_eps = get_key<double>(config, "layer_norm_epsilon", path, 1e-5);
  c.tie_word_embeddings = get_key<bool>(config, "tie_word_embeddings", path, true);
  c.dropout = get_key<double>(config, "resid_pdrop", path, 0.0);
  const std::string activation =
      get_key<std::string>(config, "activation_function", path, "gelu_new");
  KILN_CHECK(activation == "gelu_new" || activation == "gelu_pytorch_tanh", "hf",
             "{}: activation_function '{}' is not supported, expected gelu_new (GELU, tanh)",
             path.string(), activation);
  // null (transformers' default) means 4 * n_embd.
  KILN_CHECK(get_key<int64_t>(config, "n_inner", path, 4 * c.n_embd) == 4 * c.n_embd, "hf",
             "{}: n_inner other than 4 * n_embd is not supported", path.string());
  KILN_CHECK(get_key<bool>(config, "scale_attn_weights", path, true) &&
                 !get_key<bool>(config, "scale_attn_by_inverse_layer_idx", path, false),
             "hf", "{}: only attention scaled by 1/sqrt(head_dim) is supported", path.string());
  try {
    c.validate();
  } catch (const Error& e) {
    fail("hf", "{}: {}", path.string(), e.what());
  }
  return c;
}

std::unique_ptr<GPT> load_gpt2(const fs::path& dir, DType dtype) {
  GPTConfig config = read_gpt2_config(dir);
  const fs::path weights = dir / "model.safetensors";
  KILN_CHECK(fs::exists(weights), "hf", "{} not found", weights.string());
  const SafetensorsFile file(weights);

  std::map<std::string, std::string> stored;  // kiln name -> name in the file
  for (const std::string& name : file.names()) {
    std::string local = name.starts_with(kPrefix) ? name.substr(kPrefix.size()) : name;
    if (is_ignored_buffer(local)) continue;
    if (local == "lm_head.weight" && config.tie_word_embeddings) continue;
    stored[local] = name;
  }
  auto model = std::make_unique<GPT>(config);
  std::map<std::string, Tensor> state;
  std::set<std::string> used;
  for (const auto& [name, param] : model->named_parameters()) {
    const auto it = stored.find(name);
    KILN_CHECK(it != stored.end(), "hf", "{} has no tensor '{}'", weights.string(), name);
    Tensor value = file.load(it->second, DType::f32);
    if (is_conv1d_weight("." + name)) value = value.transpose(0, 1).contiguous();
    KILN_CHECK(value.shape() == param.shape(), "hf",
               "{}: tensor '{}' has shape {}, expected {} for this config", weights.string(),
               it->second, shape_str(file.info(it->second).shape), shape_str(param.shape()));
    state[name] = value;
    used.insert(name);
  }
  for (const auto& [local, name] : stored)
    KILN_CHECK(used.count(local) != 0, "hf", "{}: unexpected tensor '{}'", weights.string(), name);
  model->load_state(state);
  if (dtype != DType::f32) model->to(dtype);
  return model;
}

void save_gpt2(const GPT& model, const fs::path& dir, const SpecialTokenIds& ids) {
  const GPTConfig& c = model.config();
  check_special_ids(ids, c.vocab_size);
  std::error_code ec;
  fs::create_directories(dir, ec);
  KILN_CHECK(!ec, "hf", "cannot create {}: {}", dir.string(), ec.message());
  NoGradGuard no_grad;
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& [name, param] : model.named_parameters()) {
    Tensor value = param.detach().to(DType::f32);
    if (is_conv1d_weight("." + name)) value = value.transpose(0, 1).contiguous();
    tensors.emplace_back(name == "lm_head.weight" ? name : std::string(kPrefix) + name, value);
  }
  // transformers' GPT-2 always has biases: a bias-free kiln model is written with zero biases,
  // which compute the same function.
  if (!c.bias) {
    auto zero_bias = [&](const std::string& name, int64_t size) {
      tensors.emplace_back(std::string(kPrefix) + name, zeros({size}));
    };
    for (int64_t i = 0; i < c.n_layer; ++i) {
      const std::string h = "h." + std::to_string(i) + ".";
      zero_bias(h + "ln_1.bias", c.n_embd);
      zero_bias(h + "attn.c_attn.bias", 3 * c.n_embd);
      zero_bias(h + "attn.c_proj.bias", c.n_embd);
      zero_bias(h + "ln_2.bias", c.n_embd);
      zero_bias(h + "mlp.c_fc.bias", 4 * c.n_embd);
      zero_bias(h + "mlp.c_proj.bias", c.n_embd);
    }
    zero_bias("ln_f.bias", c.n_embd);
  }
  save_safetensors(dir / "model.safetensors", tensors, {{"format", "pt"}});

  json config = {
      {"architectures", {"GPT2LMHeadModel"}},
      {"model_type", "gpt2"},
      {"vocab_size", c.vocab_size},
      {"n_positions", c.block_size},
      {"n_ctx", c.block_size},
      {"n_embd", c.n_embd},
      {"n_layer", c.n_layer},
      {"n_head", c.n_head},
      {"n_inner", nullptr},
      {"activation_function", "gelu_new"},
      {"resid_pdrop", c.dropout},
      {"embd_pdrop", c.dropout},
      // kiln has no dropout on attention probabilities; transformers would apply its default
      // 0.1 if the key were absent.
      {"attn_pdrop", 0.0},
      {"layer_norm_epsilon", c.layer_norm_eps},
      {"initializer_range", 0.02},
      {"tie_word_embeddings", c.tie_word_embeddings},
      {"torch_dtype", "float32"},
  };
  if (ids.bos) config["bos_token_id"] = *ids.bos;
  if (ids.eos) config["eos_token_id"] = *ids.eos;
  write_file_atomically(dir / "config.json", config.dump(2) + "\n", "hf");
}

}  // namespace kiln::models
