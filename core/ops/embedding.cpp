#include "core/ops/embedding.h"

#include "core/autograd.h"
#include "core/backend/embedding.h"
#include "core/backend/on_device.h"
#include "core/ops/common.h"

namespace kiln {
namespace {

using backend::EmbeddingBackend;

std::vector<Tensor> embedding_backward(const Tensor& flat_ids, int64_t num_embeddings, int64_t dim,
                                       const Tensor& grad) {
  const Tensor grad_weight =
      zeros({num_embeddings, dim}, TensorOptions{grad.dtype(), grad.device()});
  on_device("embedding", grad.device(), &EmbeddingBackend::backward, grad.contiguous(), flat_ids,
            grad_weight);
  return {grad_weight, Tensor()};
}

}  // namespace

Tensor embedding(const Tensor& weight, const Tensor& ids) {
  check_dim("embedding", "weight", weight, 2);
  check_same_device("embedding", {weight, ids});
  const int64_t num_embeddings = weight.size(0);
  const int64_t dim = weight.size(1);
  Shape out_shape = ids.shape();
  out_shape.push_back(dim);
  Tensor out = empty(out_shape, TensorOptions{weight.dtype(), weight.device()});
  const Tensor flat_ids = ids.contiguous();
  const int64_t bad =
      on_device("embedding", weight.device(), &EmbeddingBackend::forward, weight, flat_ids, out);
  if (bad >= 0) {
    fail("embedding",
         "id {} (at flat position {} of ids {}) is out of range for {} embeddings (weight {})",
         flat_ids.to_vector<int64_t>()[static_cast<size_t>(bad)], bad, shape_str(ids.shape()),
         num_embeddings, shape_str(weight.shape()));
  }
  record("embedding", out, {weight, ids},
         [flat_ids, num_embeddings, dim](const Tensor& g, const std::vector<bool>&) {
           return embedding_backward(flat_ids, num_embeddings, dim, g);
         });
  return out;
}

}  // namespace kiln
