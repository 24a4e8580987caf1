#pragma once
// What gradient clipping needs from a gradient buffer: its sum of squares, a scale in place,
// and a finiteness test.
#include <cstdint>

namespace kiln::kernels::cpu {

// sum_i x[i]^2 over n contiguous elements, accumulated in double. Partial sums cover fixed
// blocks and are added in block order, so the result does not depend on the thread count.
template <typename T>
double sum_of_squares(const T* x, int64_t n);

// x[i] *= scale over n contiguous elements.
template <typename T>
void scale_(T* x, int64_t n, double scale);

// True when no element of x (n contiguous elements) is NaN or infinite.
template <typename T>
bool all_finite(const T* x, int64_t n);

}  // namespace kiln::kernels::cpu
