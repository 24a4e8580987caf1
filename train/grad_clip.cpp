#include "train/grad_clip.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/ops/common.h"
#include "kernels/grad_clip.h"

#ifdef KILN_CUDA
#include "core/cuda/runtime.h"
#include "kernels/cuda/grad_clip.h"
#endif

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

// Σ x² over a group of gradients, in double.
double group_sum_of_squares(const std::vector<Tensor>& group, std::string_view op) {
  const Tensor& first = group.front();
  if (first.device().is_cuda()) {
#ifdef KILN_CUDA
    std::vector<Tensor> contiguous;
    for (const Tensor& g : group) contiguous.push_back(g.contiguous());
    const Tensor result = empty({}, TensorOptions{DType::f64, first.device()});
    visit_cuda_float(first.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      std::vector<kernels::cuda::GradTensor<T>> tensors;
      for (const Tensor& g : contiguous) tensors.push_back({g.data<T>(), g.numel()});
      const auto count = static_cast<int64_t>(tensors.size());
      const Tensor workspace = empty({kernels::cuda::grad_workspace_bytes(tensors.data(), count)},
                                     TensorOptions{DType::u8, first.device()});
      kernels::cuda::sum_of_squares(tensors.data(), count, result.data<double>(),
                                    workspace.raw_data(),
                                    cuda::launch_stream(first.device().index));
    });
    return result.item();
#endif
  }
  double total = 0;
  for (const Tensor& grad : group) {
    const Tensor g = grad.contiguous();
    total += visit_float(g.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      return kernels::cpu::sum_of_squares(g.data<T>(), g.numel());
    });
  }
  return total;
}

void group_scale_(const std::vector<Tensor>& group, double scale, std::string_view op) {
  const Tensor& first = group.front();
  std::vector<Tensor> contiguous;
  for (const Tensor& g : group) contiguous.push_back(g.contiguous());
  if (first.device().is_cuda()) {
#ifdef KILN_CUDA
    visit_cuda_float(first.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      std::vector<kernels::cuda::GradTensor<T>> tensors;
      for (const Tensor& g : contiguous) tensors.push_back({g.data<T>(), g.numel()});
      const auto count = static_cast<int64_t>(tensors.size());
      const Tensor workspace = empty({kernels::cuda::grad_workspace_bytes(tensors.data(), count)},
                                     TensorOptions{DType::u8, first.device()});
      kernels::cuda::scale_(tensors.data(), count, scale, workspace.raw_data(),
                            cuda::launch_stream(first.device().index));
    });
#endif
  } else {
    for (const Tensor& g : contiguous) {
      visit_float(g.dtype(), op, [&](auto tag) {
        using T = decltype(tag);
        kernels::cpu::scale_(g.data<T>(), g.numel(), scale);
      });
    }
  }
  for (size_t i = 0; i < group.size(); ++i)
    if (!contiguous[i].same(group[i])) copy_(group[i], contiguous[i]);
}

}  // namespace

double global_grad_norm(const std::vector<Tensor>& params) {
  NoGradGuard no_grad;
  double total = 0;
  for (const std::vector<Tensor>& group : group_grads(unique_grads(params, "grad_norm")))
    total += group_sum_of_squares(group, "grad_norm");
  return std::sqrt(total);
}

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  KILN_CHECK(max_norm > 0, "clip_grad_norm", "max_norm {} must be > 0", max_norm);
  const double norm = global_grad_norm(params);
  if (!std::isfinite(norm) || norm <= max_norm) return norm;
  const double scale = max_norm / (norm + 1e-6);
  NoGradGuard no_grad;
  for (const std::vector<Tensor>& group : group_grads(unique_grads(params, "clip_grad_norm")))
    group_scale_(group, scale, "clip_grad_norm");
  return norm;
}

bool grads_are_finite(const std::vector<Tensor>& params) {
  NoGradGuard no_grad;
  for (const std::vector<Tensor>& group : group_grads(unique_grads(params, "grads_are_finite"))) {
    if (group.front().device().is_cuda()) {
      // Squares summed in double overflow for no finite f32/bf16/f16 value, so the sum is
      // finite exactly when every element is: one reduction instead of a separate test.
      if (!std::isfinite(group_sum_of_squares(group, "grads_are_finite"))) return false;
      continue;
    }
    for (const Tensor& grad : group) {
      const Tensor g = grad.contiguous();
      const bool finite = visit_float(g.dtype(), "grads_are_finite", [&](auto tag) {
        using T = decltype(tag);
        return kernels::cpu::all_finite(g.data<T>(), g.numel());
      });
      if (!finite) return false;
    }
  }
  return true;
}

}  // namespace kiln::train
