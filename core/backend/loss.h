#pragma once
// cross_entropy on each device (see core/backend/on_device.h). logits [rows, cols] and targets
// [rows] (i32/i64, checked in range by the op) are contiguous.
//
// The devices keep different things for the backward, so the forward fills a state the same
// device's backward reads: the per-row log-sum-exp, the count of rows not ignored (an i64 CPU
// scalar on the CPU, an f32 device scalar on CUDA) and, on CUDA when `want_grad`, the gradient
// for an upstream gradient of 1, written by the forward in the same pass. The loss is the
// logits' dtype on the CPU and f32 on CUDA (as under torch's autocast: a mean over many rows
// deserves more than 8 bits, and an f16 loss could not carry a loss scale of 2^16).
#include <cstdint>
#include <string_view>

#include "core/tensor.h"

namespace kiln::backend {

struct CrossEntropyState {
  Tensor lse;
  Tensor count;
  Tensor dlogits;
};

struct LossBackend {
  // Returns the 0-dim mean loss over the rows not ignored (0 when all are).
  Tensor (*cross_entropy_forward)(std::string_view op, const Tensor& logits, const Tensor& targets,
                                  int64_t ignore_index, bool want_grad, CrossEntropyState& state);
  // d loss / d logits times `scale` (the upstream gradient).
  void (*cross_entropy_backward)(std::string_view op, const Tensor& logits, const Tensor& targets,
                                 int64_t ignore_index, const CrossEntropyState& state, double scale,
                                 const Tensor& dlogits);

  static const LossBackend& cpu();
  static const LossBackend& cuda();
};

}  // namespace kiln::backend
