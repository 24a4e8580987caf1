#pragma once
// The building blocks of GPT-style models, each a Module with Hugging Face parameter names.
#include <optional>

#include "core/random.h"
#include "models/module.h"

namespace kiln::models {

// y = x Wᵀ + b, weight [out, in] as torch.nn.Linear stores it. (GPT-2's Conv1D stores
// [in, out]; models/hf transposes on load and save.)
class Linear : public Module {
 public:
  // Weights ~ N(0, init_std), bias zero: GPT-2's initialisation.
  Linear(int64_t in_features, int64_t out_features, bool bias, Generator& gen,
         double init_std = 0.02);
  // Weight and bias allocated but not initialised: for a model whose values are loaded next.
  Linear(int64_t in_features, int64_t out_features, bool bias);
  Tensor forward(const Tensor& x) const;
  const Tensor& weight() const { return weight_; }
  const std::optional<Tensor>& bias() const { return bias_; }

 private:
  Tensor weight_;
  std::optional<Tensor> bias_;
};

class Embedding : public Module {
 public:
  Embedding(int64_t count, int64_t dim, Generator& gen, double init_std = 0.02);
  // Allocated but not initialised (values loaded next).
  Embedding(int64_t count, int64_t dim);
  Tensor forward(const Tensor& ids) const;
  const Tensor& weight() const { return weight_; }

 private:
  Tensor weight_;
};

class LayerNorm : public Module {
 public:
  LayerNorm(int64_t dim, bool bias, double eps = 1e-5);
  Tensor forward(const Tensor& x) const;

 private:
  Tensor weight_;
  std::optional<Tensor> bias_;
  double eps_;
};

class RMSNorm : public Module {
 public:
  explicit RMSNorm(int64_t dim, double eps = 1e-6);
  Tensor forward(const Tensor& x) const;

 private:
  Tensor weight_;
  double eps_;
};

// GPT-2's feed-forward: c_fc (dim -> 4 dim), GELU (tanh), c_proj (4 dim -> dim), dropout.
class MLP : public Module {
 public:
  MLP(int64_t dim, bool bias, double dropout, double proj_init_std, Generator& gen);
  Tensor forward(const Tensor& x, Generator& dropout_gen) const;

 private:
  std::shared_ptr<Linear> c_fc_;
  std::shared_ptr<Linear> c_proj_;
  double dropout_;
};

// The SwiGLU feed-forward of Llama-family models: down_proj(silu(gate_proj(x)) · up_proj(x)),
// dim -> hidden -> dim. With a null generator the weights are left uninitialised (loaded next).
class GatedMLP : public Module {
 public:
  GatedMLP(int64_t dim, int64_t hidden, bool bias, Generator* gen, double init_std = 0.02);
  Tensor forward(const Tensor& x) const;

 private:
  std::shared_ptr<Linear> gate_proj_;
  std::shared_ptr<Linear> up_proj_;
  std::shared_ptr<Linear> down_proj_;
};

// A Linear initialised from `gen` (N(0, init_std)), or left uninitialised when gen is null.
std::shared_ptr<Linear> make_linear(int64_t in_features, int64_t out_features, bool bias,
                                    Generator* gen, double init_std = 0.02);

}  // namespace kiln::models
