#pragma once
// Reductions over a set of dims. The input is read as [outer, reduced]: output element o
// reduces in[outer.offset_of(o) + reduced.offset_of(j)] over j in [0, reduced numel), and the
// output is contiguous over `outer`. The caller splits a view's dims into the two layouts, so
// any strided input (transposed, broadcast) is reduced without a copy.
#include <cstdint>

#include "kernels/layout.h"

namespace kiln::kernels::cpu {

// out[o] = scale * sum_j in[...], accumulated in double. The summation order depends only on
// the layouts, never on the thread count, so results are reproducible.
template <typename T>
void sum_reduce(const T* in, const StridedLayout& outer, const StridedLayout& reduced, T* out,
                double scale);

// out[o] = max_j in[...] and index[o] = the first j attaining it (NaN counts as the maximum);
// either output may be null. The reduced numel must be positive.
template <typename T>
void max_reduce(const T* in, const StridedLayout& outer, const StridedLayout& reduced, T* out,
                int64_t* index);

// grad_in[outer.offset_of(o) + reduced.offset_of(index[o])] = grad_out[o] for every o; the
// other elements of grad_in are left as they are (the caller zero-fills).
template <typename T>
void max_reduce_backward(const T* grad_out, const int64_t* index, const StridedLayout& outer,
                         const StridedLayout& reduced, T* grad_in);

}  // namespace kiln::kernels::cpu
