#pragma once
// Shape and layout ops. Views (reshape of a contiguous tensor, view, transpose, permute, slice,
// expand, squeeze, unsqueeze, split) share storage with their input; cat and a reshape that
// cannot be a view copy. All record their backward.
#include <vector>

#include "core/tensor.h"

namespace kiln {

// One dim may be -1 (inferred). A view when the strides allow it, else a copy.
Tensor reshape(const Tensor& x, const Shape& shape);
// Like reshape but never copies: throws when the layout does not allow a view.
Tensor view(const Tensor& x, const Shape& shape);
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
// Elements start, start+step, ... < end along `dim` (Python slice semantics for negative and
// out-of-range bounds; step > 0).
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
// Broadcasts to `shape` without copying (stride 0 on expanded dims); -1 keeps a dim.
Tensor expand(const Tensor& x, const Shape& shape);
Tensor squeeze(const Tensor& x, int64_t dim);
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim);
// Pieces of `split_size` along `dim` (the last may be smaller).
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim);
// Pieces of the given sizes along `dim` (they must sum to its size).
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim);

}  // namespace kiln
