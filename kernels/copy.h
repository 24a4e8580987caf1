#pragma once
// Strided copy with element-type conversion, and fill: what contiguous(), to(dtype) and the
// view ops' backward (writing into a slice of a zero tensor) are made of.
#include <cstdint>

#include "kernels/layout.h"

namespace kiln::kernels::cpu {

// dst[dst_layout.offset_of(i)] = convert(src[src_layout.offset_of(i)]) for i in [0, n).
template <typename Src, typename Dst>
void copy_strided(const Src* src, const StridedLayout& src_layout, Dst* dst,
                  const StridedLayout& dst_layout, int64_t n);

template <typename T>
void fill(T* dst, const StridedLayout& layout, T value, int64_t n);

}  // namespace kiln::kernels::cpu
