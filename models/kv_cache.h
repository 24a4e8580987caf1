#pragma once
// Keys and values of the positions already processed, per layer, so that generating one more
// token costs O(T) attention work instead of recomputing the whole prefix.
// It lives in models/ (not infer/, which creates and clears caches) because GPT::forward takes
// it and attention layers read and extend it, and models/ cannot include infer/
// (docs/architecture.md).
#include <vector>

#include "core/tensor.h"

namespace kiln::models {

class KVCache {
 public:
  // Room for `capacity` positions of `layers` layers of [batch, heads, ·, head_dim].
  KVCache(int64_t layers, int64_t batch, int64_t heads, int64_t capacity, int64_t head_dim,
          TensorOptions options = {});

  int64_t length() const { return length_; }
  int64_t capacity() const { return capacity_; }
  // Writes k, v [batch, heads, T, head_dim] of `layer` after the cached positions and returns
  // views of all positions so far (cached + new). The length grows once every layer has
  // appended (advance()).
  std::pair<Tensor, Tensor> append(int64_t layer, const Tensor& k, const Tensor& v);
  // Commits the positions appended by the last forward pass.
  void advance(int64_t count);
  void clear() { length_ = 0; }

 private:
  std::vector<Tensor> keys_;
  std::vector<Tensor> values_;
  int64_t capacity_;
  int64_t length_ = 0;
};

}  // namespace kiln::models
