#pragma once
// where, masked_fill and their gradient split on each device (see core/backend/on_device.h).
// Every operand is read through a layout broadcasting it to the output's shape; masks are bool
// or u8; outputs are contiguous. where_backward writes grad where the mask is set into
// grad_true and the rest into grad_false, each only when defined.
#include <string_view>

#include "core/tensor.h"

namespace kiln::backend {

struct SelectBackend {
  void (*where)(std::string_view op, const Tensor& condition,
                const kernels::StridedLayout& condition_layout, const Tensor& a,
                const kernels::StridedLayout& a_layout, const Tensor& b,
                const kernels::StridedLayout& b_layout, const Tensor& out);
  void (*masked_fill)(std::string_view op, const Tensor& x, const Tensor& mask,
                      const kernels::StridedLayout& mask_layout, double value, const Tensor& out);
  void (*where_backward)(std::string_view op, const Tensor& mask,
                         const kernels::StridedLayout& mask_layout, const Tensor& grad,
                         const Tensor& grad_true, const Tensor& grad_false);

  static const SelectBackend& cpu();
  static const SelectBackend& cuda();
};

}  // namespace kiln::backend
