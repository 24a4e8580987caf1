#pragma once
// SGD with torch.optim.SGD's arithmetic (momentum buffer starting at the first gradient,
// optional Nesterov momentum, weight decay added to the gradient, no dampening). Weight decay
// applies only to parameters with dim() >= 2, as in AdamW (see Optimizer::decays).
#include "train/optimizer.h"

namespace kiln::train {

struct SGDOptions {
  double lr = 1e-2;
  double momentum = 0.9;
  double weight_decay = 0;
  bool nesterov = false;
};

class SGD : public Optimizer {
 public:
  // State buffers: "momentum" per parameter (none when momentum is 0).
  SGD(models::NamedTensors params, SGDOptions options = {});

  void step() override;
  const SGDOptions& options() const { return options_; }

 private:
  SGDOptions options_;
};

}  // namespace kiln::train
