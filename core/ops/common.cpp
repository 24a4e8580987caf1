#include "core/ops/common.h"

namespace kiln {

void check_same_device(std::string_view op, const std::vector<Tensor>& tensors) {
  const Tensor* first = nullptr;
  for (const Tensor& t : tensors) {
    if (!t.defined()) continue;
    if (first == nullptr) {
      first = &t;
      continue;
    }
    KILN_CHECK(t.device() == first->device(), op, "inputs are on {} and {}, expected one device",
               first->device().str(), t.device().str());
  }
}

void check_same_dtype(std::string_view op, std::string_view what, const Tensor& t,
                      const Tensor& like) {
  KILN_CHECK(t.dtype() == like.dtype(), op, "{} has dtype {}, expected {}", what,
             dtype_name(t.dtype()), dtype_name(like.dtype()));
}

void check_floating(std::string_view op, std::string_view what, const Tensor& t) {
  KILN_CHECK(is_floating(t.dtype()), op, "{} has dtype {}, expected a floating dtype", what,
             dtype_name(t.dtype()));
}

void check_dim(std::string_view op, std::string_view what, const Tensor& t, int64_t ndim) {
  KILN_CHECK(t.dim() == ndim, op, "{} has shape {}, expected {} dims", what, shape_str(t.shape()),
             ndim);
}

kernels::StridedLayout broadcast_layout(const Tensor& t, const Shape& shape) {
  const size_t lead = shape.size() - t.shape().size();
  Shape strides(shape.size(), 0);
  for (size_t d = 0; d < t.shape().size(); ++d)
    strides[lead + d] = t.shape()[d] == 1 ? 0 : t.strides()[d];
  return strided_layout(shape, strides);
}

}  // namespace kiln
