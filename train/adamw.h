#pragma once
// AdamW with torch.optim.AdamW's arithmetic: bias-corrected moments and decoupled weight decay
// (p -= lr * weight_decay * p, before the Adam update). Weight decay applies only to parameters
// with dim() >= 2 (see Optimizer::decays). Each parameter is updated by one fused kernel.
#include "train/optimizer.h"

namespace kiln::train {

struct AdamWOptions {
  double lr = 3e-4;
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.1;
};

class AdamW : public Optimizer {
 public:
  // State buffers: "exp_avg" and "exp_avg_sq" per parameter.
  AdamW(models::NamedTensors params, AdamWOptions options = {});

  void step() override;
  const AdamWOptions& options() const { return options_; }

 private:
  AdamWOptions options_;
};

}  // namespace kiln::train
