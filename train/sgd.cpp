#include "train/sgd.h"

#include "core/autograd.h"
#include "core/dispatch.h"
#include "kernels/sgd.h"

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
  for (const size_t i : active) {
    const Tensor& param = parameters()[i].second;
    const Tensor grad = param.grad().contiguous();
    std::vector<Tensor>& state = buffers(i);
    scalars.weight_decay = decays(i) ? options_.weight_decay : 0.0;
    visit_float(param.dtype(), "sgd", [&](auto tag) {
      using T = decltype(tag);
      T* momentum = state.empty() ? nullptr : state[0].data<T>();
      kernels::cpu::sgd_step(param.data<T>(), grad.data<T>(), momentum, param.numel(), scalars);
    });
  }
  advance_step();
}

}  // namespace kiln::train
