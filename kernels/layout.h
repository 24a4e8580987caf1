#pragma once
// The strided layout of a tensor as kernels see it: a shape and element strides, no Tensor.
// Used by kernels that read views (broadcast operands, transposed inputs) without a copy.
#include <cstdint>

#ifdef __CUDACC__
#define KILN_HOST_DEVICE __host__ __device__
#else
#define KILN_HOST_DEVICE
#endif

namespace kiln::kernels {

constexpr int kMaxDims = 8;

struct StridedLayout {
  int ndim = 0;
  int64_t shape[kMaxDims] = {};
  int64_t strides[kMaxDims] = {};

  // Element offset of the i-th element in row-major order over `shape`.
  KILN_HOST_DEVICE int64_t offset_of(int64_t i) const {
    int64_t offset = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t q = i / shape[d];
      offset += (i - q * shape[d]) * strides[d];
      i = q;
    }
    return offset;
  }

  // True when offset_of(i) == i for every i.
  KILN_HOST_DEVICE bool is_contiguous() const {
    int64_t expected = 1;
    for (int d = ndim - 1; d >= 0; --d) {
      if (shape[d] != 1 && strides[d] != expected) return false;
      expected *= shape[d];
    }
    return true;
  }
};

}  // namespace kiln::kernels
