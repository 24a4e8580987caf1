#include "train/grad_clip.h"

#include <cmath>
#include <unordered_set>

#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/ops/common.h"
#include "kernels/grad_clip.h"

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
    if (grad.device().is_cuda()) no_cuda_kernel(op);
    out.push_back(grad);
  }
  return out;
}

}  // namespace

double global_grad_norm(const std::vector<Tensor>& params) {
  NoGradGuard no_grad;
  double total = 0;
  for (const Tensor& grad : unique_grads(params, "grad_norm")) {
    const Tensor g = grad.contiguous();
    total += visit_float(g.dtype(), "grad_norm", [&](auto tag) {
      using T = decltype(tag);
      return kernels::cpu::sum_of_squares(g.data<T>(), g.numel());
    });
  }
  return std::sqrt(total);
}

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  KILN_CHECK(max_norm > 0, "clip_grad_norm", "max_norm {} must be > 0", max_norm);
  const double norm = global_grad_norm(params);
  if (!std::isfinite(norm) || norm <= max_norm) return norm;
  const double scale = max_norm / (norm + 1e-6);
  NoGradGuard no_grad;
  for (const Tensor& grad : unique_grads(params, "clip_grad_norm")) {
    const Tensor g = grad.contiguous();
    visit_float(g.dtype(), "clip_grad_norm", [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::scale_(g.data<T>(), g.numel(), scale);
    });
    if (!g.same(grad)) copy_(grad, g);
  }
  return norm;
}

bool grads_are_finite(const std::vector<Tensor>& params) {
  NoGradGuard no_grad;
  for (const Tensor& grad : unique_grads(params, "grads_are_finite")) {
    const Tensor g = grad.contiguous();
    const bool finite = visit_float(g.dtype(), "grads_are_finite", [&](auto tag) {
      using T = decltype(tag);
      return kernels::cpu::all_finite(g.data<T>(), g.numel());
    });
    if (!finite) return false;
  }
  return true;
}

}  // namespace kiln::train
