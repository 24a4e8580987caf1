#pragma once
// Walks the offsets of a StridedLayout in row-major order without a division per element:
// kernels that read or write views (copies, fills) move along the innermost dim in runs with a
// fixed stride and carry into the outer dims only at a run's end. offset_of(i) costs ndim
// divisions per element, which made strided copies a quarter of a training step on the CPU.
#include <cstdint>
#include <limits>

#include "kernels/layout.h"

namespace kiln::kernels::cpu {

class LayoutCursor {
 public:
  // Positioned at the row-major element `start` of the layout.
  LayoutCursor(const StridedLayout& layout, int64_t start) : layout_(layout) {
    if (layout.ndim == 0) offset_ = start;
    for (int d = layout.ndim - 1; d >= 0; --d) {
      index_[d] = start % layout.shape[d];
      start /= layout.shape[d];
      offset_ += index_[d] * layout.strides[d];
    }
  }

  int64_t offset() const { return offset_; }
  // A 0-dim layout reads as contiguous, as StridedLayout::is_contiguous() says (callers pass
  // StridedLayout{} for a contiguous buffer): one run of stride 1.
  int64_t inner_stride() const { return layout_.ndim > 0 ? layout_.strides[layout_.ndim - 1] : 1; }
  // Elements left in the current innermost run.
  int64_t run() const {
    if (layout_.ndim == 0) return std::numeric_limits<int64_t>::max();
    const int inner = layout_.ndim - 1;
    return layout_.shape[inner] - index_[inner];
  }
  // Moves k <= run() elements forward, carrying into outer dims when the run ends.
  void advance(int64_t k) {
    if (layout_.ndim == 0) {
      offset_ += k;
      return;
    }
    int d = layout_.ndim - 1;
    index_[d] += k;
    offset_ += k * layout_.strides[d];
    while (d > 0 && index_[d] == layout_.shape[d]) {
      offset_ -= index_[d] * layout_.strides[d];
      index_[d] = 0;
      --d;
      ++index_[d];
      offset_ += layout_.strides[d];
    }
  }

 private:
  const StridedLayout& layout_;
  int64_t index_[kMaxDims] = {};
  int64_t offset_ = 0;
};

}  // namespace kiln::kernels::cpu
