#include "models/module.h"

#include "core/autograd.h"

namespace kiln::models {

void Module::collect(const std::string& prefix, NamedTensors& out) const {
  for (const auto& [name, tensor] : parameters_) out.emplace_back(prefix + name, tensor);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", out);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, tensor] : named_parameters()) out.push_back(tensor);
  return out;
}

Tensor Module::parameter(const std::string& name) const {
  for (auto& [n, tensor] : named_parameters())
    if (n == name) return tensor;
  fail("module", "no parameter named '{}'", name);
}

int64_t Module::parameter_count() const {
  int64_t count = 0;
  for (const Tensor& t : parameters()) count += t.numel();
  return count;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::set_frozen(bool frozen) {
  for (Tensor& t : parameters()) t.set_requires_grad(!frozen);
}

void Module::zero_grad() {
  for (const Tensor& t : parameters()) t.zero_grad();
}

void Module::load_state(const std::map<std::string, Tensor>& state, bool strict) {
  NoGradGuard no_grad;
  for (auto& [name, param] : named_parameters()) {
    const auto it = state.find(name);
    if (it == state.end()) {
      KILN_CHECK(!strict, "load_state", "missing tensor '{}' (shape {})", name,
                 shape_str(param.shape()));
      continue;
    }
    KILN_CHECK(it->second.shape() == param.shape(), "load_state",
               "tensor '{}' has shape {}, expected {}", name, shape_str(it->second.shape()),
               shape_str(param.shape()));
    copy_(param, it->second);
  }
}

namespace {

// Replaces the storage behind a parameter handle, so every holder of the handle (tied weights,
// optimizers) sees the moved tensor.
void rebind(const Tensor& param, const Tensor& moved) {
  TensorImpl* impl = param.impl_ptr();
  impl->storage = moved.storage();
  impl->shape = moved.shape();
  impl->strides = moved.strides();
  impl->offset = moved.offset();
  impl->dtype = moved.dtype();
  impl->grad.reset();
}

}  // namespace

void adopt_storage(const Tensor& param, const Tensor& value) {
  KILN_CHECK(param.shape() == value.shape(), "module",
             "cannot adopt a tensor of shape {} for a "
             "parameter of shape {}",
             shape_str(value.shape()), shape_str(param.shape()));
  rebind(param, value);
}

void Module::to(Device device) {
  NoGradGuard no_grad;
  for (const Tensor& t : parameters())
    if (t.device() != device) rebind(t, t.detach().to(device));
}

void Module::to(DType dtype) {
  NoGradGuard no_grad;
  for (const Tensor& t : parameters())
    if (t.dtype() != dtype) rebind(t, t.detach().to(dtype));
}

Tensor Module::register_parameter(std::string name, Tensor value) {
  if (value.is_leaf() && is_floating(value.dtype())) value.set_requires_grad(true);
  parameters_.emplace_back(std::move(name), value);
  return value;
}

}  // namespace kiln::models
