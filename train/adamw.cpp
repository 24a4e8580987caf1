#include "train/adamw.h"

#include <cmath>

#include "core/autograd.h"
#include "core/dispatch.h"
#include "kernels/adamw.h"

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
  NoGradGuard no_grad;
  const std::vector<size_t> active = parameters_with_grad();
  const auto t = static_cast<double>(step_count() + 1);
  kernels::AdamWScalars scalars;
  scalars.lr = lr();
  scalars.beta1 = options_.beta1;
  scalars.beta2 = options_.beta2;
  scalars.eps = options_.eps;
  scalars.bias_correction1 = 1 - std::pow(options_.beta1, t);
  scalars.bias_correction2 = 1 - std::pow(options_.beta2, t);
  for (const size_t i : active) {
    const Tensor& param = parameters()[i].second;
    const Tensor grad = param.grad().contiguous();
    std::vector<Tensor>& state = buffers(i);
    scalars.weight_decay = decays(i) ? options_.weight_decay : 0.0;
    visit_float(param.dtype(), "adamw", [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::adamw_step(param.data<T>(), grad.data<T>(), state[0].data<T>(),
                               state[1].data<T>(), param.numel(), scalars);
    });
  }
  advance_step();
}

}  // namespace kiln::train
