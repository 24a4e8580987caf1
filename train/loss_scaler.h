#pragma once
// Dynamic loss scaling for f16 training, on the schedule of torch.cuda.amp.GradScaler: the
// backward starts from `scale` instead of 1, so that small gradients survive f16's narrow
// range, and the optimizer divides the scale out in f32 (Optimizer::set_grad_scale). A step
// whose gradients overflowed (inf or NaN) is skipped and the scale halves; after
// `growth_interval` clean steps in a row it doubles. bf16 has f32's range and needs none.
#include <cstdint>

#include <nlohmann/json.hpp>

#include "core/tensor.h"

namespace kiln::train {

struct LossScalerOptions {
  double initial_scale = 65536.0;  // 2^16
  int64_t growth_interval = 2000;
};

class LossScaler {
 public:
  explicit LossScaler(bool enabled, LossScalerOptions options = {});

  bool enabled() const { return enabled_; }
  // The current scale; 1 when disabled.
  double scale() const { return enabled_ ? scale_ : 1.0; }
  int64_t clean_steps() const { return clean_steps_; }

  // loss.backward() with the output gradient `scale` (plain backward when disabled).
  void backward(const Tensor& loss) const;
  // Records one step's outcome and tells whether the optimizer may step: false (skip) when the
  // gradients were not finite, after halving the scale. Always true when disabled.
  bool update(bool grads_finite);

  // {"scale", "clean_steps"}, for checkpoints; load_state restores it exactly.
  nlohmann::json state() const;
  void load_state(const nlohmann::json& state);

 private:
  bool enabled_;
  LossScalerOptions options_;
  double scale_;
  int64_t clean_steps_ = 0;
};

}  // namespace kiln::train
