#pragma once
// Checks and helpers every op shares: argument validation with messages that name the op,
// and the layouts kernels read broadcast operands through.
#include <string_view>
#include <vector>

#include "core/tensor.h"

namespace kiln {

// All defined tensors on one device; names the op and the devices otherwise.
void check_same_device(std::string_view op, const std::vector<Tensor>& tensors);
// `t` has the dtype of `like` ("[op] <what> has dtype f64, expected f32").
void check_same_dtype(std::string_view op, std::string_view what, const Tensor& t,
                      const Tensor& like);
void check_floating(std::string_view op, std::string_view what, const Tensor& t);
void check_dim(std::string_view op, std::string_view what, const Tensor& t, int64_t ndim);

// The layout that reads `t` as if broadcast to `shape` (stride 0 on broadcast dims).
kernels::StridedLayout broadcast_layout(const Tensor& t, const Shape& shape);

}  // namespace kiln
