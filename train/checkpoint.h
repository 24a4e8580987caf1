#pragma once
// Checkpoints: out_dir/checkpoints/step_00001000/ holds the model in Hugging Face layout
// (config.json + model.safetensors, loadable by transformers and by `kiln generate`), the
// tokenizer's files, optimizer.safetensors, and trainer_state.json (step, data position, RNG
// states, config). The directory is assembled under a temporary name and renamed, so a crash
// mid-save leaves the previous checkpoints intact and no half-written one that looks complete.
#include <filesystem>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "models/causal_lm.h"
#include "text/tokenizer.h"
#include "train/optimizer.h"

namespace kiln::train {

struct LoadedCheckpoint {
  std::filesystem::path dir;
  nlohmann::json trainer_state;
  std::map<std::string, Tensor> optimizer_state;
};

// Writes the checkpoint of `step` and deletes all but the newest `keep` checkpoints.
std::filesystem::path save_checkpoint(const std::filesystem::path& out_dir, int64_t step,
                                      const models::CausalLM& model, const Optimizer& optimizer,
                                      const Tokenizer& tokenizer,
                                      const nlohmann::json& trainer_state, int64_t keep);

// The newest complete checkpoint of a run directory; kiln::Error when there is none.
std::filesystem::path latest_checkpoint(const std::filesystem::path& out_dir);

// Reads trainer_state.json and optimizer.safetensors of a checkpoint directory (the model is
// read with models::load_pretrained).
LoadedCheckpoint read_checkpoint(const std::filesystem::path& dir);

}  // namespace kiln::train
