#include "train/loss_scaler.h"

#include <cmath>

#include "core/error.h"

namespace kiln::train {

LossScaler::LossScaler(bool enabled, LossScalerOptions options)
    : enabled_(enabled), options_(options), scale_(options.initial_scale) {
  KILN_CHECK(std::isfinite(options.initial_scale) && options.initial_scale > 0, "loss_scaler",
             "initial scale {} must be finite and > 0", options.initial_scale);
  KILN_CHECK(options.growth_interval > 0, "loss_scaler", "growth interval {} must be > 0",
             options.growth_interval);
}

void LossScaler::backward(const Tensor& loss) const {
  if (!enabled_) {
    loss.backward();
    return;
  }
  loss.backward(full({}, scale_, TensorOptions{loss.dtype(), loss.device()}));
}

bool LossScaler::update(bool grads_finite) {
  if (!enabled_) return true;
  if (!grads_finite) {
    scale_ *= 0.5;
    clean_steps_ = 0;
    return false;
  }
  if (++clean_steps_ == options_.growth_interval) {
    scale_ *= 2.0;
    clean_steps_ = 0;
  }
  return true;
}

nlohmann::json LossScaler::state() const {
  return {{"scale", scale_}, {"clean_steps", clean_steps_}};
}

void LossScaler::load_state(const nlohmann::json& state) {
  KILN_CHECK(state.is_object() && state.contains("scale") && state.contains("clean_steps"),
             "loss_scaler", "state {} lacks 'scale' or 'clean_steps'", state.dump());
  const double scale = state.at("scale").get<double>();
  const auto clean_steps = state.at("clean_steps").get<int64_t>();
  KILN_CHECK(std::isfinite(scale) && scale > 0, "loss_scaler", "saved scale {} is not > 0", scale);
  KILN_CHECK(clean_steps >= 0 && clean_steps < options_.growth_interval, "loss_scaler",
             "saved clean step count {} is outside [0, {})", clean_steps, options_.growth_interval);
  scale_ = scale;
  clean_steps_ = clean_steps;
}

}  // namespace kiln::train
