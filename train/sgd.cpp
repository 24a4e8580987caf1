#include "train/sgd.h"

#include "core/ops/optim.h"

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
  SGDHyper hyper;
  hyper.lr = lr();
  hyper.momentum = options_.momentum;
  hyper.weight_decay = options_.weight_decay;
  hyper.nesterov = options_.nesterov;
  hyper.grad_scale = grad_scale();
  step_groups([&](const std::vector<ParamUpdate>& group) { sgd_update(group, hyper); });
}

}  // namespace kiln::train
