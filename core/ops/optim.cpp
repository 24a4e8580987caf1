#include "core/ops/optim.h"

#include "core/autograd.h"
#include "core/backend/on_device.h"
#include "core/backend/optim.h"

namespace kiln {
namespace {

using backend::OptimBackend;

// The group with contiguous gradients (the kernels read them as flat arrays); the caller has
// checked that parameters and buffers are contiguous.
std::vector<ParamUpdate> packed(const std::vector<ParamUpdate>& group) {
  std::vector<ParamUpdate> out = group;
  for (ParamUpdate& u : out) u.grad = u.grad.contiguous();
  return out;
}

std::vector<Tensor> contiguous(const std::vector<Tensor>& group) {
  std::vector<Tensor> out;
  out.reserve(group.size());
  for (const Tensor& g : group) out.push_back(g.contiguous());
  return out;
}

}  // namespace

void adamw_update(const std::vector<ParamUpdate>& group, const AdamWHyper& hyper) {
  if (group.empty()) return;
  NoGradGuard no_grad;
  on_device("adamw", group.front().param.device(), &OptimBackend::adamw, packed(group), hyper);
}

void sgd_update(const std::vector<ParamUpdate>& group, const SGDHyper& hyper) {
  if (group.empty()) return;
  NoGradGuard no_grad;
  on_device("sgd", group.front().param.device(), &OptimBackend::sgd, packed(group), hyper);
}

double grads_sum_of_squares(const std::vector<Tensor>& group) {
  if (group.empty()) return 0;
  NoGradGuard no_grad;
  return on_device("grad_norm", group.front().device(), &OptimBackend::sum_of_squares,
                   contiguous(group));
}

void grads_scale_(const std::vector<Tensor>& group, double scale) {
  if (group.empty()) return;
  NoGradGuard no_grad;
  const std::vector<Tensor> packed_group = contiguous(group);
  on_device("clip_grad_norm", group.front().device(), &OptimBackend::scale_, packed_group, scale);
  for (size_t i = 0; i < group.size(); ++i)
    if (!packed_group[i].same(group[i])) copy_(group[i], packed_group[i]);
}

bool grads_all_finite(const std::vector<Tensor>& group) {
  if (group.empty()) return true;
  NoGradGuard no_grad;
  return on_device("grads_are_finite", group.front().device(), &OptimBackend::all_finite,
                   contiguous(group));
}

}  // namespace kiln
