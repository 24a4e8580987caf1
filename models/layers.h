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

}  // namespace kiln::models
