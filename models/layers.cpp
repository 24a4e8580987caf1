#include "models/layers.h"

#include "core/ops.h"

namespace kiln::models {

Linear::Linear(int64_t in_features, int64_t out_features, bool bias, Generator& gen,
               double init_std) {
  weight_ =
      register_parameter("weight", randn({out_features, in_features}, {}, &gen, 0.0, init_std));
  if (bias) bias_ = register_parameter("bias", zeros({out_features}));
}

Tensor Linear::forward(const Tensor& x) const {
  return linear(x, weight_, bias_);
}

Embedding::Embedding(int64_t count, int64_t dim, Generator& gen, double init_std) {
  weight_ = register_parameter("weight", randn({count, dim}, {}, &gen, 0.0, init_std));
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

}  // namespace kiln::models
