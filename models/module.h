#pragma once
// Module: a node in a tree of layers that owns named parameters. Names are the dotted paths
// Hugging Face uses ("h.0.attn.c_attn.weight"), so state dicts map one to one.
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace kiln::models {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Makes `value` (a tensor of the parameter's shape that nothing else holds) the storage behind
// the parameter handle `param`, without copying: every holder of the handle (tied weights,
// optimizers) sees it. Loaders hand over the tensors they have just read this way.
void adopt_storage(const Tensor& param, const Tensor& value);

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Every parameter of this module and its children, depth first, in registration order.
  NamedTensors named_parameters() const;
  std::vector<Tensor> parameters() const;
  // The parameter at a dotted path; throws naming the path when there is none.
  Tensor parameter(const std::string& name) const;
  int64_t parameter_count() const;

  // Training mode (dropout active) for this module and its children.
  void train(bool on = true);
  void eval() { train(false); }
  bool training() const { return training_; }

  // Frozen parameters do not require grad (LoRA freezes the base model).
  void set_frozen(bool frozen);
  void zero_grad();

  // Copies values into the parameters by name (converting dtype); every parameter must be
  // present unless `strict` is false, and shapes must match.
  void load_state(const std::map<std::string, Tensor>& state, bool strict = true);
  // Moves every parameter to `device`/`dtype` in place (the Tensor handles stay the same).
  void to(Device device);
  void to(DType dtype);

 protected:
  // Registers a trainable parameter; returns the handle the module keeps.
  Tensor register_parameter(std::string name, Tensor value);
  template <typename M>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module) {
    children_.emplace_back(std::move(name), module);
    return module;
  }

 private:
  void collect(const std::string& prefix, NamedTensors& out) const;
  std::vector<std::pair<std::string, Tensor>> parameters_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace kiln::models
