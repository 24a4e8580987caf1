#include "train/optimizer.h"

#include <cmath>
#include <set>
#include <unordered_map>

#include "core/autograd.h"
#include "core/ops/common.h"

namespace kiln::train {
namespace {

DType state_dtype(const Tensor& param) {
  return param.dtype() == DType::f64 ? DType::f64 : DType::f32;
}

// The first few items and how many more, so a mismatched checkpoint gives a readable message.
std::string list_items(const std::vector<std::string>& items) {
  constexpr size_t kShown = 5;
  std::string out;
  for (size_t i = 0; i < items.size() && i < kShown; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > kShown) out += fmt::format(" and {} more", items.size() - kShown);
  return out;
}

}  // namespace

Optimizer::Optimizer(std::string op, models::NamedTensors params, double lr,
                     std::vector<std::string> buffer_names)
    : op_(std::move(op)),
      params_(std::move(params)),
      buffer_names_(std::move(buffer_names)),
      buffers_(params_.size()) {
  KILN_CHECK(!params_.empty(), op_, "got an empty parameter list");
  set_lr(lr);
  std::set<std::string> names;
  std::unordered_map<const TensorImpl*, std::string> seen;
  for (const auto& [name, param] : params_) {
    KILN_CHECK(param.defined(), op_, "parameter '{}' is undefined", name);
    KILN_CHECK(is_floating(param.dtype()), op_, "parameter '{}' has dtype {}, expected a float",
               name, dtype_name(param.dtype()));
    KILN_CHECK(names.insert(name).second, op_, "parameter name '{}' appears twice", name);
    // Updating one tensor twice per step would silently double its learning rate.
    const auto [it, fresh] = seen.emplace(param.impl_ptr(), name);
    KILN_CHECK(fresh, op_, "parameters '{}' and '{}' are the same tensor", it->second, name);
  }
  NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i)
    if (params_[i].second.requires_grad()) buffers(i);
}

void Optimizer::zero_grad() {
  for (const auto& [name, param] : params_) param.zero_grad();
}

void Optimizer::set_lr(double lr) {
  KILN_CHECK(std::isfinite(lr) && lr >= 0, op_, "learning rate {} must be finite and >= 0", lr);
  lr_ = lr;
}

std::vector<size_t> Optimizer::parameters_with_grad() const {
  std::vector<size_t> out;
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& [name, param] = params_[i];
    const Tensor grad = param.grad();
    if (!grad.defined()) continue;
    check_same_dtype(op_, fmt::format("gradient of '{}'", name), grad, param);
    KILN_CHECK(grad.shape() == param.shape(), op_, "gradient of '{}' has shape {}, expected {}",
               name, shape_str(grad.shape()), shape_str(param.shape()));
    KILN_CHECK(grad.device() == param.device(), op_,
               "gradient of '{}' is on {}, the parameter on {}", name, grad.device().str(),
               param.device().str());
    if (param.device().is_cuda()) no_cuda_kernel(op_);
    KILN_CHECK(param.dtype() == DType::f32 || param.dtype() == DType::f64, op_,
               "parameter '{}' has dtype {}; the CPU optimizers update f32 or f64 parameters", name,
               dtype_name(param.dtype()));
    KILN_CHECK(param.is_contiguous(), op_,
               "parameter '{}' is not contiguous; optimizers update parameters in place", name);
    out.push_back(i);
  }
  return out;
}

std::vector<Tensor>& Optimizer::buffers(size_t i) {
  const Tensor& param = params_[i].second;
  std::vector<Tensor>& slots = buffers_[i];
  const TensorOptions options{state_dtype(param), param.device()};
  if (slots.empty()) {
    for (size_t b = 0; b < buffer_names_.size(); ++b)
      slots.push_back(zeros(param.shape(), options));
    return slots;
  }
  NoGradGuard no_grad;
  for (Tensor& slot : slots)
    if (slot.device() != options.device || slot.dtype() != options.dtype)
      slot = slot.to(options.device).to(options.dtype);
  return slots;
}

std::string Optimizer::buffer_key(size_t buffer, size_t param) const {
  return buffer_names_[buffer] + "." + params_[param].first;
}

models::NamedTensors Optimizer::state() const {
  models::NamedTensors out;
  out.emplace_back("step", from_vector<int64_t>({step_count_}, Shape{}));
  for (size_t i = 0; i < params_.size(); ++i)
    for (size_t b = 0; b < buffers_[i].size(); ++b)
      out.emplace_back(buffer_key(b, i), buffers_[i][b]);
  return out;
}

void Optimizer::load_state(const std::map<std::string, Tensor>& state) {
  const auto step_it = state.find("step");
  KILN_CHECK(step_it != state.end(), op_, "optimizer state has no 'step' entry");
  const Tensor& step = step_it->second;
  KILN_CHECK(step.numel() == 1 && is_integral(step.dtype()), op_,
             "optimizer state 'step' has shape {} and dtype {}, expected one integer",
             shape_str(step.shape()), dtype_name(step.dtype()));
  const auto step_count = static_cast<int64_t>(step.item());
  KILN_CHECK(step_count >= 0, op_, "optimizer state 'step' is {}, expected >= 0", step_count);

  // Check everything first, so that a bad checkpoint leaves the optimizer as it was.
  std::vector<std::string> missing;
  std::vector<std::string> misshapen;
  std::set<std::string> known{"step"};
  std::vector<size_t> loaded;
  for (size_t i = 0; i < params_.size(); ++i) {
    bool any = false;
    for (size_t b = 0; b < buffer_names_.size(); ++b) any |= state.count(buffer_key(b, i)) > 0;
    if (!any && buffers_[i].empty()) continue;
    loaded.push_back(i);
    for (size_t b = 0; b < buffer_names_.size(); ++b) {
      const std::string key = buffer_key(b, i);
      known.insert(key);
      const auto it = state.find(key);
      if (it == state.end()) {
        missing.push_back("'" + key + "'");
      } else if (it->second.shape() != params_[i].second.shape()) {
        misshapen.push_back(fmt::format("'{}' is {}, expected {}", key,
                                        shape_str(it->second.shape()),
                                        shape_str(params_[i].second.shape())));
      }
    }
  }
  std::vector<std::string> unknown;
  for (const auto& [key, value] : state)
    if (!known.count(key)) unknown.push_back("'" + key + "'");
  KILN_CHECK(missing.empty(), op_, "optimizer state is missing {}", list_items(missing));
  KILN_CHECK(misshapen.empty(), op_, "optimizer state has wrong shapes: {}", list_items(misshapen));
  KILN_CHECK(unknown.empty(), op_, "optimizer state has entries for no parameter: {}",
             list_items(unknown));

  NoGradGuard no_grad;
  for (const size_t i : loaded) {
    std::vector<Tensor>& slots = buffers(i);
    for (size_t b = 0; b < slots.size(); ++b) copy_(slots[b], state.at(buffer_key(b, i)));
  }
  step_count_ = step_count;
}

}  // namespace kiln::train
