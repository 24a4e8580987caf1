#include "core/backend/optim.h"

#include <cmath>

#include "core/cuda/runtime.h"
#include "core/dispatch.h"
#include "kernels/cuda/adamw.h"
#include "kernels/cuda/grad_clip.h"
#include "kernels/cuda/sgd.h"

namespace kiln::backend {
namespace {

// One launch per group; the per-parameter weight decay travels as a flag.
void adamw(std::string_view op, const std::vector<ParamUpdate>& group, const AdamWHyper& hyper) {
  const Tensor& first = group.front().param;
  visit_cuda_float(first.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    std::vector<kernels::cuda::AdamWTensor<T>> tensors;
    for (const ParamUpdate& u : group) {
      tensors.push_back({u.param.data<T>(), u.grad.data<T>(), u.state[0].data<float>(),
                         u.state[1].data<float>(), data_or_null<float>(u.master), u.param.numel(),
                         u.decay});
    }
    const auto count = static_cast<int64_t>(tensors.size());
    const Tensor workspace = empty({kernels::cuda::adamw_workspace_bytes(tensors.data(), count)},
                                   TensorOptions{DType::u8, first.device()});
    kernels::cuda::adamw_step(tensors.data(), count, hyper, workspace.raw_data(),
                              cuda::launch_stream(first.device().index));
  });
}

void sgd(std::string_view op, const std::vector<ParamUpdate>& group, const SGDHyper& hyper) {
  const Tensor& first = group.front().param;
  visit_cuda_float(first.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    std::vector<kernels::cuda::SGDTensor<T>> tensors;
    for (const ParamUpdate& u : group) {
      tensors.push_back({u.param.data<T>(), u.grad.data<T>(),
                         u.state.empty() ? nullptr : u.state[0].data<float>(),
                         data_or_null<float>(u.master), u.param.numel(), u.decay});
    }
    const auto count = static_cast<int64_t>(tensors.size());
    const Tensor workspace = empty({kernels::cuda::sgd_workspace_bytes(tensors.data(), count)},
                                   TensorOptions{DType::u8, first.device()});
    kernels::cuda::sgd_step(tensors.data(), count, hyper, workspace.raw_data(),
                            cuda::launch_stream(first.device().index));
  });
}

template <typename T>
std::vector<kernels::cuda::GradTensor<T>> grad_tensors(const std::vector<Tensor>& group) {
  std::vector<kernels::cuda::GradTensor<T>> tensors;
  for (const Tensor& g : group) tensors.push_back({g.data<T>(), g.numel()});
  return tensors;
}

double sum_of_squares(std::string_view op, const std::vector<Tensor>& group) {
  const Tensor& first = group.front();
  const Tensor result = empty({}, TensorOptions{DType::f64, first.device()});
  visit_cuda_float(first.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const auto tensors = grad_tensors<T>(group);
    const auto count = static_cast<int64_t>(tensors.size());
    const Tensor workspace = empty({kernels::cuda::grad_workspace_bytes(tensors.data(), count)},
                                   TensorOptions{DType::u8, first.device()});
    kernels::cuda::sum_of_squares(tensors.data(), count, result.data<double>(),
                                  workspace.raw_data(), cuda::launch_stream(first.device().index));
  });
  return result.item();
}

void scale_(std::string_view op, const std::vector<Tensor>& group, double scale) {
  const Tensor& first = group.front();
  visit_cuda_float(first.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const auto tensors = grad_tensors<T>(group);
    const auto count = static_cast<int64_t>(tensors.size());
    const Tensor workspace = empty({kernels::cuda::grad_workspace_bytes(tensors.data(), count)},
                                   TensorOptions{DType::u8, first.device()});
    kernels::cuda::scale_(tensors.data(), count, scale, workspace.raw_data(),
                          cuda::launch_stream(first.device().index));
  });
}

// Squares summed in double overflow for no finite f32/bf16/f16 value, so the sum is finite
// exactly when every element is: one reduction instead of a separate test.
bool all_finite(std::string_view op, const std::vector<Tensor>& group) {
  return std::isfinite(sum_of_squares(op, group));
}

constexpr OptimBackend kTable{adamw, sgd, sum_of_squares, scale_, all_finite};

}  // namespace

const OptimBackend& OptimBackend::cuda() {
  return kTable;
}

}  // namespace kiln::backend
