#include "train/sgd.h"

#include <type_traits>

#include "core/autograd.h"
#include "core/dispatch.h"
#include "kernels/sgd.h"

#ifdef KILN_CUDA
#include "core/cuda/runtime.h"
#include "kernels/cuda/sgd.h"
#endif

namespace kiln::train {
namespace {

std::vector<std::string> buffer_names(const SGDOptions& options) {
  if (options.momentum == 0) return {};
  return {"momentum"};
}

}  // namespace

SGD::SGD(models::NamedTensors params, SGDOptions options)
    : Optimizer("sgd", std::move(params), options.lr, buffer_names(options)), options_(options) {
  KILN_CHECK(options.momentum >= 0 && options.momentum < 1, "sgd", "momentum {} must be in [0, 1)",
             options.momentum);
  KILN_CHECK(options.weight_decay >= 0, "sgd", "weight_decay {} must be >= 0",
             options.weight_decay);
  KILN_CHECK(!options.nesterov || options.momentum > 0, "sgd",
             "Nesterov momentum needs momentum > 0");
}

void SGD::step() {
  NoGradGuard no_grad;
  const std::vector<size_t> active = parameters_with_grad();
  kernels::SGDScalars scalars;
  scalars.lr = lr();
  scalars.momentum = options_.momentum;
  scalars.nesterov = options_.nesterov;
  scalars.grad_scale = grad_scale();
  for (const std::vector<size_t>& group : group_by_device_and_dtype(active)) {
    const Tensor& first = parameters()[group.front()].second;
    if (first.device().is_cuda()) {
#ifdef KILN_CUDA
      scalars.weight_decay = options_.weight_decay;
      std::vector<Tensor> grads;  // contiguous gradients, alive until the launch is queued
      visit_cuda_float(first.dtype(), "sgd", [&](auto tag) {
        using T = decltype(tag);
        std::vector<kernels::cuda::SGDTensor<T>> tensors;
        for (const size_t i : group) {
          const Tensor& param = parameters()[i].second;
          grads.push_back(param.grad().contiguous());
          std::vector<Tensor>& state = buffers(i);
          const Tensor& m = master(i);
          tensors.push_back({param.data<T>(), grads.back().data<T>(),
                             state.empty() ? nullptr : state[0].data<float>(),
                             m.defined() ? m.data<float>() : nullptr, param.numel(), decays(i)});
        }
        const auto count = static_cast<int64_t>(tensors.size());
        const Tensor workspace = empty({kernels::cuda::sgd_workspace_bytes(tensors.data(), count)},
                                       TensorOptions{DType::u8, first.device()});
        kernels::cuda::sgd_step(tensors.data(), count, scalars, workspace.raw_data(),
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
            kernels::cpu::sgd_step_mixed(param.data<T>(), grad.data<T>(), m.data<float>(),
                                         state.empty() ? nullptr : state[0].data<float>(),
                                         param.numel(), scalars);
          }
        });
        continue;
      }
      visit_float(param.dtype(), "sgd", [&](auto tag) {
        using T = decltype(tag);
        T* momentum = state.empty() ? nullptr : state[0].data<T>();
        kernels::cpu::sgd_step(param.data<T>(), grad.data<T>(), momentum, param.numel(), scalars);
      });
    }
  }
  advance_step();
}

}  // namespace kiln::train
