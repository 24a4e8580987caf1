#pragma once
// Optimizer: the parameters it updates, their per-parameter state buffers, the learning rate
// and the step count. Subclasses (AdamW, SGD) define step(); checkpointing is shared, so every
// optimizer saves the same way: one tensor per (buffer, parameter) named
// "<buffer>.<parameter name>" (e.g. "exp_avg.h.0.ln_1.weight") plus "step", a 0-dim i64
// tensor, which safetensors stores as is.
//
// Mixed precision: a bf16/f16 parameter is stepped through an f32 master copy, saved as
// "master.<parameter name>", with f32 state buffers; after each step the parameter holds the
// master rounded to its dtype. Gradients may carry a loss scale (set_grad_scale), which the
// update divides out in f32.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/ops/optim.h"
#include "core/tensor.h"
#include "models/module.h"

namespace kiln::train {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // Updates, in place and without recording autograd, every parameter that has a gradient;
  // parameters whose grad is undefined are left alone. The parameter handles stay the same
  // objects, so modules see the new values.
  virtual void step() = 0;
  // Resets every parameter's gradient to undefined.
  void zero_grad();

  double lr() const { return lr_; }
  void set_lr(double lr);
  // The number of step() calls so far; bias corrections count from it.
  int64_t step_count() const { return step_count_; }
  // The gradients hold `scale` times the true gradient (f16 loss scaling); step() divides it
  // out in f32. 1 unless a loss scaler sets it before each step.
  void set_grad_scale(double scale);
  double grad_scale() const { return grad_scale_; }
  const models::NamedTensors& parameters() const { return params_; }

  // "step" and every state buffer that exists, in parameter order. The buffers are the live
  // ones (no copy): save them before the next step(), or clone them to keep a snapshot.
  virtual models::NamedTensors state() const;
  // Restores what state() saved, exactly. Every buffer this optimizer has must be present with
  // its parameter's shape, and every entry must name a buffer of a parameter; otherwise throws
  // kiln::Error naming the entries, before changing anything.
  virtual void load_state(const std::map<std::string, Tensor>& state);

 protected:
  // `op` names the optimizer in errors; `buffer_names` are the state buffers each parameter
  // gets (e.g. {"exp_avg", "exp_avg_sq"}). Buffers of parameters that require grad are made
  // now; those of frozen ones when they first get a gradient, so a frozen base model (LoRA)
  // costs no optimizer memory.
  Optimizer(std::string op, models::NamedTensors params, double lr,
            std::vector<std::string> buffer_names);

  const std::string& op() const { return op_; }
  // Weight decay applies to matrices and embeddings (dim >= 2), not to biases and norm gains,
  // as in nanoGPT and most LLM recipes.
  bool decays(size_t i) const { return params_[i].second.dim() >= 2; }
  // The step every optimizer shares: the parameters that have a gradient, all checked first,
  // in groups of one device and dtype (one multi-tensor launch each on CUDA), each group handed
  // to `update` (adamw_update, sgd_update) with its state and master copies; then the step
  // count advances. Runs without recording autograd.
  void step_groups(const std::function<void(const std::vector<ParamUpdate>&)>& update);
  // The f32 master copy of a bf16/f16 parameter (made from its current value on first use);
  // undefined for f32/f64 parameters, which are their own master.
  const Tensor& master(size_t i);
  // The state buffers of parameter i, in `buffer_names` order: zeros of f32 (f64 for f64
  // parameters) on the parameter's device, made on first use and moved along when the
  // parameter has moved to another device or dtype since.
  std::vector<Tensor>& buffers(size_t i);

 private:
  // Indices of the parameters that have a gradient, all checked (dtype, shape, device,
  // contiguity; f64 only on the CPU) before the caller modifies any.
  std::vector<size_t> parameters_with_grad() const;
  // `indices` split into groups of one device and dtype, in order of first appearance.
  std::vector<std::vector<size_t>> group_by_device_and_dtype(
      const std::vector<size_t>& indices) const;
  std::string buffer_key(size_t buffer, size_t param) const;

  std::string op_;
  models::NamedTensors params_;
  std::vector<std::string> buffer_names_;
  std::vector<std::vector<Tensor>> buffers_;  // [param][buffer]; empty until made
  std::vector<Tensor> masters_;               // [param]; undefined until made
  double lr_ = 0;
  double grad_scale_ = 1;
  int64_t step_count_ = 0;
};

}  // namespace kiln::train
