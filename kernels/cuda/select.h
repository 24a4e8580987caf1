#pragma once
// CUDA counterparts of kernels/select.h: where, masked_fill and where's backward, for f32, bf16
// and f16 values and bool or u8 masks.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/layout.h"

namespace kiln::kernels::cuda {

template <typename T, typename M>
void where(const M* cond, const StridedLayout& cond_layout, const T* a,
           const StridedLayout& a_layout, const T* b, const StridedLayout& b_layout, T* out,
           int64_t n, cudaStream_t stream);

template <typename T, typename M>
void masked_fill(const T* x, const StridedLayout& x_layout, const M* mask,
                 const StridedLayout& mask_layout, T value, T* out, int64_t n, cudaStream_t stream);

// Either gradient output may be null.
template <typename T, typename M>
void where_backward(const M* cond, const StridedLayout& cond_layout, const T* grad, T* grad_true,
                    T* grad_false, int64_t n, cudaStream_t stream);

}  // namespace kiln::kernels::cuda
