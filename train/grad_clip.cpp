#include "train/grad_clip.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "core/autograd.h"
#include "core/ops/optim.h"

namespace kiln::train {
namespace {

// The defined gradients, each once even when two parameters share one (set_grad allows it),
// so scaling never applies twice.
std::vector<Tensor> unique_grads(const std::vector<Tensor>& params, std::string_view op) {
  std::vector<Tensor> out;
  std::unordered_set<const TensorImpl*> seen;
  for (size_t i = 0; i < params.size(); ++i) {
    KILN_CHECK(params[i].defined(), op, "parameter {} is undefined", i);
    const Tensor grad = params[i].grad();
    if (!grad.defined() || !seen.insert(grad.impl_ptr()).second) continue;
    out.push_back(grad);
  }
  return out;
}

// The gradients split into groups of one device and dtype, in order of first appearance: a
// CUDA group is one multi-tensor launch.
std::vector<std::vector<Tensor>> group_grads(const std::vector<Tensor>& grads) {
  std::vector<std::vector<Tensor>> groups;
  for (const Tensor& g : grads) {
    auto same = [&](const std::vector<Tensor>& group) {
      return group.front().device() == g.device() && group.front().dtype() == g.dtype();
    };
    const auto it = std::find_if(groups.begin(), groups.end(), same);
    if (it == groups.end()) {
      groups.push_back({g});
    } else {
      it->push_back(g);
    }
  }
  return groups;
}

}  // namespace

double global_grad_norm(const std::vector<Tensor>& params) {
  NoGradGuard no_grad;
  double total = 0;
  for (const std::vector<Tensor>& group : group_grads(unique_grads(params, "grad_norm")))
    total += grads_sum_of_squares(group);
  return std::sqrt(total);
}

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  KILN_CHECK(max_norm > 0, "clip_grad_norm", "max_norm {} must be > 0", max_norm);
  const double norm = global_grad_norm(params);
  if (!std::isfinite(norm) || norm <= max_norm) return norm;
  const double scale = max_norm / (norm + 1e-6);
  NoGradGuard no_grad;
  for (const std::vector<Tensor>& group : group_grads(unique_grads(params, "clip_grad_norm")))
    grads_scale_(group, scale);
  return norm;
}

bool grads_are_finite(const std::vector<Tensor>& params) {
  NoGradGuard no_grad;
  for (const std::vector<Tensor>& group : group_grads(unique_grads(params, "grads_are_finite")))
    if (!grads_all_finite(group)) return false;
  return true;
}

}  // namespace kiln::train
