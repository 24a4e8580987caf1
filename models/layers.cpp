#include "models/layers.h"

#include "core/ops.h"

namespace kiln::models {

Linear::Linear(int64_t in_features, int64_t out_features, bool bias, Generator& gen,
               double init_std) {
  weight_ =
      register_parameter("weight", randn({out_features, in_features}, {}, &gen, 0.0, init_std));
  if (bias) bias_ = register_parameter("bias", zeros({out_features}));
}

Linear::Linear(int64_t in_features, int64_t out_features, bool bias) {
  weight_ = register_parameter("weight", empty({out_features, in_features}));
  if (bias) bias_ = register_parameter("bias", empty({out_features}));
}

Tensor Linear::forward(const Tensor& x) const {
  return linear(x, weight_, bias_);
}

Embedding::Embedding(int64_t count, int64_t dim, Generator& gen, double init_std) {
  weight_ = register_parameter("weight", randn({count, dim}, {}, &gen, 0.0, init_std));
}

Embedding::Embedding(int64_t count, int64_t dim) {
  weight_ = register_parameter("weight", empty({count, dim}));
}

Tensor Embedding::forward(const Tensor& ids) const {
  return embedding(weight_, ids);
}

LayerNorm::LayerNorm(int64_t dim, bool bias, double eps) : eps_(eps) {
  weight_ = register_parameter("weight", ones({dim}));
  if (bias) bias_ = register_parameter("bias", zeros({dim}));
}

Tensor LayerNorm::forward(const Tensor& x) const {
  return layer_norm(x, weight_, bias_, eps_);
}

RMSNorm::RMSNorm(int64_t dim, double eps) : eps_(eps) {
  weight_ = register_parameter("weight", ones({dim}));
}

Tensor RMSNorm::forward(const Tensor& x) const {
  return rms_norm(x, weight_, eps_);
}

MLP::MLP(int64_t dim, bool bias, double dropout, double proj_init_std, Generator& gen)
    : dropout_(dropout) {
  c_fc_ = register_module("c_fc", std::make_shared<Linear>(dim, 4 * dim, bias, gen));
  c_proj_ =
      register_module("c_proj", std::make_shared<Linear>(4 * dim, dim, bias, gen, proj_init_std));
}

Tensor MLP::forward(const Tensor& x, Generator& dropout_gen) const {
  return kiln::dropout(c_proj_->forward(gelu(c_fc_->forward(x))), dropout_, training(),
                       &dropout_gen);
}

std::shared_ptr<Linear> make_linear(int64_t in_features, int64_t out_features, bool bias,
                                    Generator* gen, double init_std) {
  return gen != nullptr ? std::make_shared<Linear>(in_features, out_features, bias, *gen, init_std)
                        : std::make_shared<Linear>(in_features, out_features, bias);
}

GatedMLP::GatedMLP(int64_t dim, int64_t hidden, bool bias, Generator* gen, double init_std) {
  gate_proj_ = register_module("gate_proj", make_linear(dim, hidden, bias, gen, init_std));
  up_proj_ = register_module("up_proj", make_linear(dim, hidden, bias, gen, init_std));
  down_proj_ = register_module("down_proj", make_linear(hidden, dim, bias, gen, init_std));
}

Tensor GatedMLP::forward(const Tensor& x) const {
  return down_proj_->forward(silu(gate_proj_->forward(x)) * up_proj_->forward(x));
}

}  // namespace kiln::models
