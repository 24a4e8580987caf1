#include "models/kv_cache.h"

#include "core/autograd.h"
#include "core/ops/shape.h"

namespace kiln::models {

KVCache::KVCache(int64_t layers, int64_t batch, int64_t heads, int64_t capacity, int64_t head_dim,
                 TensorOptions options)
    : capacity_(capacity) {
  for (int64_t i = 0; i < layers; ++i) {
    keys_.push_back(zeros({batch, heads, capacity, head_dim}, options));
    values_.push_back(zeros({batch, heads, capacity, head_dim}, options));
  }
}

std::pair<Tensor, Tensor> KVCache::append(int64_t layer, const Tensor& k, const Tensor& v) {
  KILN_CHECK(layer >= 0 && layer < static_cast<int64_t>(keys_.size()), "kv_cache",
             "layer {} out of range ({} layers)", layer, keys_.size());
  const int64_t t = k.size(2);
  KILN_CHECK(length_ + t <= capacity_, "kv_cache",
             "{} cached + {} new positions exceed the capacity of {} (the model's block_size)",
             length_, t, capacity_);
  const Tensor& keys = keys_[static_cast<size_t>(layer)];
  const Tensor& values = values_[static_cast<size_t>(layer)];
  KILN_CHECK(k.shape() == v.shape() && k.dim() == 4 && k.size(0) == keys.size(0) &&
                 k.size(1) == keys.size(1) && k.size(3) == keys.size(3),
             "kv_cache", "k has shape {}, expected [{}, {}, T, {}]", shape_str(k.shape()),
             keys.size(0), keys.size(1), keys.size(3));
  NoGradGuard no_grad;
  copy_(slice(keys, 2, length_, length_ + t), k);
  copy_(slice(values, 2, length_, length_ + t), v);
  return {slice(keys, 2, 0, length_ + t), slice(values, 2, 0, length_ + t)};
}

void KVCache::advance(int64_t count) {
  length_ += count;
}

}  // namespace kiln::models
