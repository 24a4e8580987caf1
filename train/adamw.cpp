#include "train/adamw.h"

#include <cmath>
#include <type_traits>

#include "core/autograd.h"
#include "core/dispatch.h"
#include "kernels/adamw.h"

#ifdef KILN_CUDA
#include "core/cuda/runtime.h"
#include "kernels/cuda/adamw.h"
#endif

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
  scalars.grad_scale = grad_scale();
  for (const std::vector<size_t>& group : group_by_device_and_dtype(active)) {
    const Tensor& first = parameters()[group.front()].second;
    if (first.device().is_cuda()) {
#ifdef KILN_CUDA
      // One launch for the whole group; the per-parameter weight decay travels as a flag.
      scalars.weight_decay = options_.weight_decay;
      std::vector<Tensor> grads;  // contiguous gradients, alive until the launch is queued
      visit_cuda_float(first.dtype(), "adamw", [&](auto tag) {
        using T = decltype(tag);
        std::vector<kernels::cuda::AdamWTensor<T>> tensors;
        for (const size_t i : group) {
          const Tensor& param = parameters()[i].second;
          grads.push_back(param.grad().contiguous());
          std::vector<Tensor>& state = buffers(i);
          const Tensor& m = master(i);
          tensors.push_back({param.data<T>(), grads.back().data<T>(), state[0].data<float>(),
                             state[1].data<float>(), m.defined() ? m.data<float>() : nullptr,
                             param.numel(), decays(i)});
        }
        const auto count = static_cast<int64_t>(tensors.size());
        const Tensor workspace =
            empty({kernels::cuda::adamw_workspace_bytes(tensors.data(), count)},
                  TensorOptions{DType::u8, first.device()});
        kernels::cuda::adamw_step(tensors.data(), count, scalars, workspace.raw_data(),
                                  cuda::launch_stream(first.device().index));
      });
#endif
      continue;
    }
    for (const size_t i : group) {
      const Tensor& param = parameters()[i].second;
      const Tensor grad = param.grad().contiguous();
      std::vector<Tensor>& state = buffers(i);
      scalars.weight_decay = decays(i) ? options_.weight_decay : 0.0;
      const Tensor& m = master(i);
      if (m.defined()) {
        visit_dtype(param.dtype(), [&](auto tag) {
          using T = decltype(tag);
          if constexpr (std::is_same_v<T, bf16> || std::is_same_v<T, f16>) {
            kernels::cpu::adamw_step_mixed(param.data<T>(), grad.data<T>(), m.data<float>(),
                                           state[0].data<float>(), state[1].data<float>(),
                                           param.numel(), scalars);
          }
        });
        continue;
      }
      visit_float(param.dtype(), "adamw", [&](auto tag) {
        using T = decltype(tag);
        kernels::cpu::adamw_step(param.data<T>(), grad.data<T>(), state[0].data<T>(),
                                 state[1].data<T>(), param.numel(), scalars);
      });
    }
  }
  advance_step();
}

}  // namespace kiln::train
