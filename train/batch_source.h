#pragma once
// Where training batches come from: token windows of shards or an in-memory stream, or the
// problems of a synthetic task. Each source's position is a small JSON state that a
// checkpoint stores, so a resumed run draws exactly the batches it would have drawn.
#include <memory>
#include <optional>
#include <utility>

#include <nlohmann/json.hpp>

#include "text/tokenizer.h"
#include "train/config.h"
#include "train/data_loader.h"
#include "train/synthetic.h"

namespace kiln::train {

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  // Inputs and targets, i64 [batch, block]; targets may hold -100 (not scored).
  virtual std::pair<Tensor, Tensor> next() = 0;
  virtual nlohmann::json state() const = 0;
  virtual void set_state(const nlohmann::json& state) = 0;
};

// Everything a run reads, resolved from the config's `data` and `tokenizer`.
struct TrainingData {
  std::shared_ptr<const Tokenizer> tokenizer;
  std::shared_ptr<const SyntheticTask> task;  // synthetic data only
  std::unique_ptr<BatchSource> train;
  // A fresh source over the validation split, from its start (the same batches at every
  // evaluation); empty when there is no validation split.
  std::function<std::unique_ptr<BatchSource>()> make_validation;
};

// data = "synthetic:<task>", a shard directory (kiln prepare / llm.c), or a text file.
TrainingData open_training_data(const TrainConfig& config);

}  // namespace kiln::train
