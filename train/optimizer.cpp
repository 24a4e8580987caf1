#include "train/optimizer.h"

#include <algorithm>
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

bool is_16_bit(DType dtype) {
  return dtype == DType::bf16 || dtype == DType::f16;
}

constexpr std::string_view kMasterPrefix = "master.";

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
      buffers_(params_.size()),
      masters_(params_.size()) {
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

void Optimizer::set_grad_scale(double scale) {
  KILN_CHECK(std::isfinite(scale) && scale > 0, op_, "gradient scale {} must be finite and > 0",
             scale);
  grad_scale_ = scale;
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
    KILN_CHECK(param.device().is_cpu() || param.dtype() != DType::f64, op_,
               "parameter '{}' is f64 on {}; f64 parameters are updated on the CPU only", name,
               param.device().str());
    KILN_CHECK(param.is_contiguous(), op_,
               "parameter '{}' is not contiguous; optimizers update parameters in place", name);
    out.push_back(i);
  }
  return out;
}

std::vector<std::vector<size_t>> Optimizer::group_by_device_and_dtype(
    const std::vector<size_t>& indices) const {
  std::vector<std::vector<size_t>> groups;
  for (const size_t i : indices) {
    const Tensor& p = params_[i].second;
    auto same = [&](const std::vector<size_t>& g) {
      const Tensor& q = params_[g.front()].second;
      return q.device() == p.device() && q.dtype() == p.dtype();
    };
    const auto it = std::find_if(groups.begin(), groups.end(), same);
    if (it == groups.end()) {
      groups.push_back({i});
    } else {
      it->push_back(i);
    }
  }
  return groups;
}

void Optimizer::step_groups(const std::function<void(const std::vector<ParamUpdate>&)>& update) {
  NoGradGuard no_grad;
  for (const std::vector<size_t>& indices : group_by_device_and_dtype(parameters_with_grad())) {
    std::vector<ParamUpdate> group;
    for (const size_t i : indices) {
      const Tensor& param = params_[i].second;
      group.push_back({param, param.grad(), buffers(i), master(i), decays(i)});
    }
    update(group);
  }
  ++step_count_;
}

const Tensor& Optimizer::master(size_t i) {
  const Tensor& param = params_[i].second;
  Tensor& slot = masters_[i];
  if (!is_16_bit(param.dtype())) {
    slot = Tensor();
    return slot;
  }
  NoGradGuard no_grad;
  if (!slot.defined()) {
    slot = param.detach().to(DType::f32).contiguous();
  } else if (slot.device() != param.device()) {
    slot = slot.to(param.device());
  }
  return slot;
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
  for (size_t i = 0; i < params_.size(); ++i) {
    for (size_t b = 0; b < buffers_[i].size(); ++b)
      out.emplace_back(buffer_key(b, i), buffers_[i][b]);
    if (masters_[i].defined())
      out.emplace_back(std::string(kMasterPrefix) + params_[i].first, masters_[i]);
  }
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
  // Master copies of 16-bit parameters; without one (a checkpoint of an f32 run) the master is
  // made from the parameter's value when first needed.
  std::vector<size_t> masters;
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string key = std::string(kMasterPrefix) + params_[i].first;
    const auto it = state.find(key);
    if (it == state.end() || !is_16_bit(params_[i].second.dtype())) continue;
    known.insert(key);
    masters.push_back(i);
    if (it->second.shape() != params_[i].second.shape()) {
      misshapen.push_back(fmt::format("'{}' is {}, expected {}", key, shape_str(it->second.shape()),
                                      shape_str(params_[i].second.shape())));
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
  for (const size_t i : masters)
    copy_(master(i), state.at(std::string(kMasterPrefix) + params_[i].first));
  step_count_ = step_count;
}

}  // namespace kiln::train
