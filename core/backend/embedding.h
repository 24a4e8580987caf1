#pragma once
// embedding on each device (see core/backend/on_device.h). ids are contiguous (i32 or i64); the
// forward gathers rows of weight [num_embeddings, dim] (any strides) into out [num_ids, dim] and
// returns the flat position of the first id out of range, or -1; the backward adds the rows of
// grad_out into grad_weight (zeroed by the caller).
#include <cstdint>
#include <string_view>

#include "core/tensor.h"

namespace kiln::backend {

struct EmbeddingBackend {
  int64_t (*forward)(std::string_view op, const Tensor& weight, const Tensor& ids,
                     const Tensor& out);
  void (*backward)(std::string_view op, const Tensor& grad_out, const Tensor& ids,
                   const Tensor& grad_weight);

  static const EmbeddingBackend& cpu();
  static const EmbeddingBackend& cuda();
};

}  // namespace kiln::backend
