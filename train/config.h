#pragma once
// The training configuration: nanoGPT / GPT-2 key names, read from TOML and overridden by
// `--set key=value`. Every key is declared once in config.cpp with its type and check, so an
// unknown key, a wrong type or an impossible value is one error naming the key.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace kiln::train {

struct TrainConfig {
  // Model (ignored when init_from names a model directory, whose config.json rules).
  std::string model = "gpt2";  // gpt2 | llama (docs/models.md)
  int64_t n_layer = 4;
  int64_t n_head = 4;
  int64_t n_embd = 128;
  int64_t block_size = 64;
  int64_t vocab_size = 0;  // 0: the tokenizer's size
  double dropout = 0.0;
  bool bias = true;  // gpt2
  bool tie_embeddings = true;
  // llama only.
  int64_t n_kv_head = 0;          // 0: n_head (no grouped-query attention)
  int64_t intermediate_size = 0;  // 0: 8/3 n_embd rounded up to a multiple of 64
  int64_t head_dim = 0;           // 0: n_embd / n_head
  double rope_theta = 10000.0;
  double rms_norm_eps = 1e-5;
  bool attention_bias = false;  // q, k, v and o projections
  // Optimisation.
  int64_t batch_size = 32;
  int64_t grad_accum = 1;
  int64_t max_steps = 1000;
  double learning_rate = 1e-3;
  double min_lr = 1e-4;
  int64_t warmup_steps = 100;
  std::string lr_schedule = "cosine";  // cosine | constant | wsd
  std::string optimizer = "adamw";     // adamw | sgd
  double weight_decay = 0.1;
  double beta1 = 0.9;
  double beta2 = 0.95;
  double momentum = 0.9;            // sgd
  double grad_clip = 1.0;           // 0: off
  std::string nan_policy = "stop";  // stop | skip
  // Evaluation, checkpoints, logging.
  int64_t eval_interval = 250;
  int64_t eval_steps = 20;
  int64_t eval_examples = 200;  // held-out problems scored by generation (synthetic tasks)
  int64_t ckpt_interval = 500;
  int64_t keep_checkpoints = 3;
  int64_t log_interval = 10;
  std::string out_dir = "out";
  // Data: a text file, a shard folder (kiln prepare), or synthetic:<task>.
  std::string data = "synthetic:addition";
  std::string tokenizer = "char";  // char | a tokenizer directory (text-file data)
  double val_fraction = 0.1;       // text-file data
  uint64_t seed = 1337;
  std::string device = "auto";  // auto | cpu | cuda | cuda:N
  std::string dtype = "f32";    // f32 | bf16 | f16
  double peak_tflops = 0;  // the device's peak for MFU; 0: looked up by GPU name (none on a CPU)
  std::string init_from = "scratch";  // scratch | a Hugging Face model directory

  // Throws naming the key when a value is impossible, or keys disagree.
  void validate() const;
  nlohmann::json to_json() const;
  static TrainConfig from_json(const nlohmann::json& json);
};

// Reads a TOML file (flat keys, or grouped in tables whose names are ignored). Unknown keys and
// wrong types are errors naming the file and key.
TrainConfig load_config(const std::filesystem::path& path);
// Applies "key=value" overrides, parsing value with the key's type.
void apply_overrides(TrainConfig& config, const std::vector<std::string>& overrides);

}  // namespace kiln::train
