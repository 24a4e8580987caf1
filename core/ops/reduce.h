#pragma once
// Reductions over dims. An empty `dims` list means every dim. Negative dims count from the end.
#include <vector>

#include "core/tensor.h"

namespace kiln {

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Maximum values; the gradient flows to the first maximal element of each reduced group.
Tensor max(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Index of the first maximal element along `dim`, as i64 (not differentiable).
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
// Sums `x` down to `shape`, the inverse of broadcasting `shape` to x's shape: what a
// broadcasting op's backward uses.
Tensor sum_to(const Tensor& x, const Shape& shape);

}  // namespace kiln
