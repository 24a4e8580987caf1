#pragma once
// softmax and log_softmax (`log`) over the last dim on each device (see
// core/backend/on_device.h). x/y/grad/dx are contiguous [rows, cols]; `causal` masks the columns
// past each row's query position, the rows cycling through tq queries.
#include <cstdint>
#include <string_view>

#include "core/tensor.h"

namespace kiln::backend {

struct SoftmaxBackend {
  void (*forward)(std::string_view op, const Tensor& x, const Tensor& y, int64_t rows, int64_t cols,
                  bool causal, int64_t tq, bool log);
  void (*backward)(std::string_view op, const Tensor& y, const Tensor& grad, const Tensor& dx,
                   int64_t rows, int64_t cols, bool causal, int64_t tq, bool log);

  static const SoftmaxBackend& cpu();
  static const SoftmaxBackend& cuda();
};

}  // namespace kiln::backend
