#pragma once
// The elementwise kernels on each device (see core/backend/on_device.h): unary maps and their
// gradients over floating tensors, binary arithmetic and comparisons over floating and index
// tensors. Operands are read through layouts (broadcast or strided views); outputs and the
// tensors of unary_backward are contiguous.
#include <string_view>

#include "core/tensor.h"
#include "kernels/elementwise.h"

namespace kiln::backend {

struct ElementwiseBackend {
  void (*unary)(std::string_view op, kernels::UnaryOp kind, const Tensor& x, const Tensor& out);
  void (*unary_backward)(std::string_view op, kernels::UnaryOp kind, const Tensor& x,
                         const Tensor& out, const Tensor& grad, const Tensor& dx);
  void (*binary)(std::string_view op, kernels::BinaryOp kind, const Tensor& a,
                 const kernels::StridedLayout& a_layout, const Tensor& b,
                 const kernels::StridedLayout& b_layout, const Tensor& out);
  void (*compare)(std::string_view op, kernels::CompareOp kind, const Tensor& a,
                  const kernels::StridedLayout& a_layout, const Tensor& b,
                  const kernels::StridedLayout& b_layout, const Tensor& out);

  static const ElementwiseBackend& cpu();
  static const ElementwiseBackend& cuda();
};

}  // namespace kiln::backend
