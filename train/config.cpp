#include "train/config.h"

#include <toml++/toml.h>

#include <charconv>
#include <functional>
#include <nlohmann/json.hpp>
#include <variant>

#include "core/error.h"
#include "core/file_io.h"

namespace kiln::train {
namespace {

using Member = std::variant<int64_t TrainConfig::*, uint64_t TrainConfig::*, double TrainConfig::*,
                            bool TrainConfig::*, std::string TrainConfig::*>;

struct Key {
  const char* name;
  Member member;
};

// Every configurable key, in the order docs/training.md lists them.
const std::vector<Key>& keys() {
  static const std::vector<Key> all = {
      {"model", &TrainConfig::model},
      {"n_layer", &TrainConfig::n_layer},
      {"n_head", &TrainConfig::n_head},
      {"n_embd", &TrainConfig::n_embd},
      {"block_size", &TrainConfig::block_size},
      {"vocab_size", &TrainConfig::vocab_size},
      {"dropout", &TrainConfig::dropout},
      {"bias", &TrainConfig::bias},
      {"tie_embeddings", &TrainConfig::tie_embeddings},
      {"n_kv_head", &TrainConfig::n_kv_head},
      {"intermediate_size", &TrainConfig::intermediate_size},
      {"head_dim", &TrainConfig::head_dim},
      {"rope_theta", &TrainConfig::rope_theta},
      {"rms_norm_eps", &TrainConfig::rms_norm_eps},
      {"attention_bias", &TrainConfig::attention_bias},
      {"batch_size", &TrainConfig::batch_size},
      {"grad_accum", &TrainConfig::grad_accum},
      {"max_steps", &TrainConfig::max_steps},
      {"learning_rate", &TrainConfig::learning_rate},
      {"min_lr", &TrainConfig::min_lr},
      {"warmup_steps", &TrainConfig::warmup_steps},
      {"lr_schedule", &TrainConfig::lr_schedule},
      {"optimizer", &TrainConfig::optimizer},
      {"weight_decay", &TrainConfig::weight_decay},
      {"beta1", &TrainConfig::beta1},
      {"beta2", &TrainConfig::beta2},
      {"momentum", &TrainConfig::momentum},
      {"grad_clip", &TrainConfig::grad_clip},
      {"nan_policy", &TrainConfig::nan_policy},
      {"eval_interval", &TrainConfig::eval_interval},
      {"eval_steps", &TrainConfig::eval_steps},
      {"eval_examples", &TrainConfig::eval_examples},
      {"ckpt_interval", &TrainConfig::ckpt_interval},
      {"keep_checkpoints", &TrainConfig::keep_checkpoints},
      {"log_interval", &TrainConfig::log_interval},
      {"out_dir", &TrainConfig::out_dir},
      {"data", &TrainConfig::data},
      {"tokenizer", &TrainConfig::tokenizer},
      {"val_fraction", &TrainConfig::val_fraction},
      {"seed", &TrainConfig::seed},
      {"device", &TrainConfig::device},
      {"dtype", &TrainConfig::dtype},
      {"peak_tflops", &TrainConfig::peak_tflops},
      {"init_from", &TrainConfig::init_from},
  };
  return all;
}

const Key& find_key(std::string_view name, std::string_view where) {
  for (const Key& k : keys())
    if (name == k.name) return k;
  fail("config", "{}unknown key '{}'", where, name);
}

template <typename T>
bool parse_number(std::string_view text, T& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// Sets `key` from text (a --set value).
void set_from_text(TrainConfig& config, const Key& key, std::string_view text) {
  std::visit(
      [&](auto member) {
        using T = std::remove_reference_t<decltype(config.*member)>;
        T& field = config.*member;
        if constexpr (std::is_same_v<T, std::string>) {
          field = std::string(text);
        } else if constexpr (std::is_same_v<T, bool>) {
          KILN_CHECK(text == "true" || text == "false", "config",
                     "'{}' expects true or false, got '{}'", key.name, text);
          field = text == "true";
        } else if constexpr (std::is_same_v<T, double>) {
          // std::from_chars for double is in libstdc++ 11+.
          KILN_CHECK(parse_number(text, field), "config", "'{}' expects a number, got '{}'",
                     key.name, text);
        } else {
          KILN_CHECK(parse_number(text, field), "config", "'{}' expects an integer, got '{}'",
                     key.name, text);
        }
      },
      key.member);
}

// Sets `key` from a TOML value, checking its type.
void set_from_toml(TrainConfig& config, const Key& key, const toml::node& node,
                   const std::string& where) {
  std::visit(
      [&](auto member) {
        using T = std::remove_reference_t<decltype(config.*member)>;
        T& field = config.*member;
        if constexpr (std::is_same_v<T, std::string>) {
          const auto v = node.value<std::string>();
          KILN_CHECK(node.is_string() && v, "config", "{}'{}' expects a string", where, key.name);
          field = *v;
        } else if constexpr (std::is_same_v<T, bool>) {
          KILN_CHECK(node.is_boolean(), "config", "{}'{}' expects true or false", where, key.name);
          field = *node.value<bool>();
        } else if constexpr (std::is_same_v<T, double>) {
          KILN_CHECK(node.is_number(), "config", "{}'{}' expects a number", where, key.name);
          field = *node.value<double>();
        } else {
          KILN_CHECK(node.is_integer(), "config", "{}'{}' expects an integer", where, key.name);
          const int64_t v = *node.value<int64_t>();
          KILN_CHECK(std::is_signed_v<T> || v >= 0, "config", "{}'{}' must not be negative", where,
                     key.name);
          field = static_cast<T>(v);
        }
      },
      key.member);
}

void read_table(TrainConfig& config, const toml::table& table, const std::string& where) {
  for (const auto& [name, node] : table) {
    if (node.is_table()) {
      read_table(config, *node.as_table(), where);
      continue;
    }
    set_from_toml(config, find_key(name.str(), where), node, where);
  }
}

}  // namespace

void TrainConfig::validate() const {
  auto positive = [](const char* key, int64_t v) {
    KILN_CHECK(v > 0, "config", "'{}' must be positive, got {}", key, v);
  };
  positive("n_layer", n_layer);
  positive("n_head", n_head);
  positive("n_embd", n_embd);
  positive("block_size", block_size);
  positive("batch_size", batch_size);
  positive("grad_accum", grad_accum);
  positive("max_steps", max_steps);
  positive("eval_steps", eval_steps);
  positive("log_interval", log_interval);
  KILN_CHECK(model == "gpt2" || model == "llama", "config",
             "'model' must be gpt2 or llama, got '{}'", model);
  KILN_CHECK(n_embd % n_head == 0 || (model == "llama" && head_dim > 0), "config",
             "'n_embd' ({}) must be divisible by 'n_head' ({})", n_embd, n_head);
  if (model == "llama") {
    KILN_CHECK(n_kv_head >= 0 && (n_kv_head == 0 || n_head % n_kv_head == 0), "config",
               "'n_head' ({}) must be a multiple of 'n_kv_head' ({})", n_head, n_kv_head);
    KILN_CHECK(intermediate_size >= 0 && head_dim >= 0, "config",
               "'intermediate_size' and 'head_dim' must be >= 0 (0: derived from n_embd)");
    KILN_CHECK((head_dim > 0 ? head_dim : n_embd / n_head) % 2 == 0, "config",
               "the head dim ({}) must be even for rotary embeddings",
               head_dim > 0 ? head_dim : n_embd / n_head);
    KILN_CHECK(rope_theta > 0 && rms_norm_eps > 0, "config",
               "'rope_theta' and 'rms_norm_eps' must be positive");
    KILN_CHECK(dropout == 0, "config",
               "'dropout' must be 0 for model llama (the Llama family has no dropout), got {}",
               dropout);
  }
  KILN_CHECK(vocab_size >= 0, "config", "'vocab_size' must be >= 0, got {}", vocab_size);
  KILN_CHECK(dropout >= 0 && dropout < 1, "config", "'dropout' must be in [0, 1), got {}", dropout);
  KILN_CHECK(learning_rate > 0, "config", "'learning_rate' must be positive, got {}",
             learning_rate);
  KILN_CHECK(min_lr >= 0 && min_lr <= learning_rate, "config",
             "'min_lr' must be in [0, learning_rate], got {}", min_lr);
  KILN_CHECK(warmup_steps >= 0 && warmup_steps <= max_steps, "config",
             "'warmup_steps' must be in [0, max_steps], got {}", warmup_steps);
  KILN_CHECK(lr_schedule == "cosine" || lr_schedule == "constant" || lr_schedule == "wsd", "config",
             "'lr_schedule' must be cosine, constant or wsd, got '{}'", lr_schedule);
  KILN_CHECK(optimizer == "adamw" || optimizer == "sgd", "config",
             "'optimizer' must be adamw or sgd, got '{}'", optimizer);
  KILN_CHECK(weight_decay >= 0, "config", "'weight_decay' must be >= 0, got {}", weight_decay);
  KILN_CHECK(beta1 >= 0 && beta1 < 1, "config", "'beta1' must be in [0, 1), got {}", beta1);
  KILN_CHECK(beta2 >= 0 && beta2 < 1, "config", "'beta2' must be in [0, 1), got {}", beta2);
  KILN_CHECK(momentum >= 0 && momentum < 1, "config", "'momentum' must be in [0, 1), got {}",
             momentum);
  KILN_CHECK(peak_tflops >= 0, "config", "'peak_tflops' must be >= 0 (0 looks the GPU up), got {}",
             peak_tflops);
  KILN_CHECK(grad_clip >= 0, "config", "'grad_clip' must be >= 0 (0 turns it off), got {}",
             grad_clip);
  KILN_CHECK(nan_policy == "stop" || nan_policy == "skip", "config",
             "'nan_policy' must be stop or skip, got '{}'", nan_policy);
  KILN_CHECK(
      eval_interval >= 0 && ckpt_interval >= 0 && eval_examples >= 0, "config",
      "'eval_interval', 'ckpt_interval' and 'eval_examples' must be >= 0 (0 turns them off)");
  KILN_CHECK(keep_checkpoints >= 1, "config", "'keep_checkpoints' must be at least 1, got {}",
             keep_checkpoints);
  KILN_CHECK(!out_dir.empty(), "config", "'out_dir' must not be empty");
  KILN_CHECK(!data.empty(), "config", "'data' must not be empty");
  KILN_CHECK(val_fraction >= 0 && val_fraction <= 0.5, "config",
             "'val_fraction' must be in [0, 0.5], got {}", val_fraction);
  KILN_CHECK(dtype == "f32" || dtype == "bf16" || dtype == "f16", "config",
             "'dtype' must be f32, bf16 or f16, got '{}'", dtype);
  KILN_CHECK(device == "auto" || device == "cpu" || device.starts_with("cuda"), "config",
             "'device' must be auto, cpu, cuda or cuda:N, got '{}'", device);
}

nlohmann::json TrainConfig::to_json() const {
  nlohmann::json out = nlohmann::json::object();
  for (const Key& k : keys())
    std::visit([&](auto member) { out[k.name] = this->*member; }, k.member);
  return out;
}

TrainConfig TrainConfig::from_json(const nlohmann::json& json) {
  TrainConfig config;
  for (const auto& [name, value] : json.items()) {
    const Key& key = find_key(name, "checkpoint config: ");
    std::visit(
        [&](auto member) {
          using T = std::remove_reference_t<decltype(config.*member)>;
          try {
            config.*member = value.get<T>();
          } catch (const nlohmann::json::exception&) {
            fail("config", "checkpoint config: '{}' has the wrong type", name);
          }
        },
        key.member);
  }
  return config;
}

TrainConfig load_config(const std::filesystem::path& path) {
  const std::string text = read_text_file(path, "config");
  TrainConfig config;
  toml::table table;
  try {
    table = toml::parse(text, path.string());
  } catch (const toml::parse_error& e) {
    fail("config", "{}:{}: {}", path.string(), e.source().begin.line, e.description());
  }
  read_table(config, table, path.string() + ": ");
  return config;
}

void apply_overrides(TrainConfig& config, const std::vector<std::string>& overrides) {
  for (const std::string& item : overrides) {
    const size_t eq = item.find('=');
    KILN_CHECK(eq != std::string::npos && eq > 0, "config", "--set expects key=value, got '{}'",
               item);
    set_from_text(config, find_key(std::string_view(item).substr(0, eq), "--set: "),
                  std::string_view(item).substr(eq + 1));
  }
}

}  // namespace kiln::train
