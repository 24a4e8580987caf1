#pragma once
// dropout on each device (see core/backend/on_device.h). The forward reserves x.numel() counters
// of `generator` for its Philox stream, writes out = x * keep * scale and the keep mask (u8);
// the backward is grad_in = grad * mask * scale over contiguous tensors.
#include <string_view>

#include "core/random.h"
#include "core/tensor.h"

namespace kiln::backend {

struct DropoutBackend {
  void (*forward)(std::string_view op, const Tensor& x, const Tensor& out, const Tensor& mask,
                  double p, double scale, Generator& generator);
  void (*backward)(std::string_view op, const Tensor& grad, const Tensor& mask,
                   const Tensor& grad_in, double scale);

  static const DropoutBackend& cpu();
  static const DropoutBackend& cuda();
};

}  // namespace kiln::backend
