#pragma once
// The reductions on each device (see core/backend/on_device.h). `outer` and `reduced` are the
// kept and the folded dims of the input as layouts (core/ops/reduce.cpp splits them); outputs
// are contiguous over `outer`. max_reduce writes the values (when defined) and the i64 index
// within each group; its backward scatters grad_out into grad_in (zeroed by the caller).
#include <string_view>

#include "core/tensor.h"

namespace kiln::backend {

struct ReduceBackend {
  void (*sum)(std::string_view op, const Tensor& x, const kernels::StridedLayout& outer,
              const kernels::StridedLayout& reduced, const Tensor& out, double scale);
  void (*max)(std::string_view op, const Tensor& x, const kernels::StridedLayout& outer,
              const kernels::StridedLayout& reduced, const Tensor& values, const Tensor& index);
  void (*max_backward)(std::string_view op, const Tensor& grad_out, const Tensor& index,
                       const kernels::StridedLayout& outer, const kernels::StridedLayout& reduced,
                       const Tensor& grad_in);

  static const ReduceBackend& cpu();
  static const ReduceBackend& cuda();
};

}  // namespace kiln::backend
