#pragma once
// The causal-LM training loop: batches -> forward -> cross-entropy -> backward (with gradient
// accumulation) -> NaN guard -> global-norm clipping -> optimizer step with the scheduled
// learning rate; evaluation every eval_interval steps, checkpoints every ckpt_interval steps
// and at the end. On the CPU a resumed run reproduces the uninterrupted loss curve exactly:
// model, optimizer, data position and dropout RNG are all restored, and evaluation (dropout off)
// draws from none of them, so a run that stopped and evaluated at step N continues as one that
// went on.
#include <filesystem>
#include <optional>

#include "train/config.h"
#include "train/synthetic.h"

namespace kiln::train {

struct TrainSummary {
  int64_t steps = 0;
  double last_loss = 0.0;
  std::optional<double> val_loss;
  std::optional<TaskAccuracy> accuracy;  // synthetic tasks
  std::filesystem::path checkpoint;
  double seconds = 0.0;
};

// Trains from `config`. With `resume_dir` (a run's out_dir or one checkpoint), the newest
// complete checkpoint's config is used, with `overrides` applied on top, and training
// continues from its step. `decode` scores synthetic tasks (evaluate_task); it is needed when
// the data is a synthetic task and eval_examples > 0 (`kiln train` passes
// infer::greedy_generate).
TrainSummary run_training(TrainConfig config,
                          const std::optional<std::filesystem::path>& resume_dir,
                          const std::vector<std::string>& overrides,
                          const GreedyDecoder& decode = {});

}  // namespace kiln::train
