#include "train/adamw.h"

#include <cmath>

#include "core/ops/optim.h"

namespace kiln::train {

AdamW::AdamW(models::NamedTensors params, AdamWOptions options)
    : Optimizer("adamw", std::move(params), options.lr, {"exp_avg", "exp_avg_sq"}),
      options_(options) {
  KILN_CHECK(options.beta1 >= 0 && options.beta1 < 1, "adamw", "beta1 {} must be in [0, 1)",
             options.beta1);
  KILN_CHECK(options.beta2 >= 0 && options.beta2 < 1, "adamw", "beta2 {} must be in [0, 1)",
             options.beta2);
  KILN_CHECK(options.eps >= 0, "adamw", "eps {} must be >= 0", options.eps);
  KILN_CHECK(options.weight_decay >= 0, "adamw", "weight_decay {} must be >= 0",
             options.weight_decay);
}

void AdamW::step() {
  const auto t = static_cast<double>(step_count() + 1);
  AdamWHyper hyper;
  hyper.lr = lr();
  hyper.beta1 = options_.beta1;
  hyper.beta2 = options_.beta2;
  hyper.eps = options_.eps;
  hyper.weight_decay = options_.weight_decay;
  hyper.bias_correction1 = 1 - std::pow(options_.beta1, t);
  hyper.bias_correction2 = 1 - std::pow(options_.beta2, t);
  hyper.grad_scale = grad_scale();
  step_groups([&](const std::vector<ParamUpdate>& group) { adamw_update(group, hyper); });
}

}  // namespace kiln::train
