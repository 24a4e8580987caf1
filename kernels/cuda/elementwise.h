#pragma once
// CUDA counterparts of kernels/elementwise.h, ordered on `stream`. Floating types are f32, bf16
// and f16 (computed in f32); binary ops and comparisons also take i32/i64.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/elementwise.h"

namespace kiln::kernels::cuda {

template <typename T>
void unary(UnaryOp op, const T* x, const StridedLayout& x_layout, T* y, int64_t n,
           cudaStream_t stream);
// dx = dy * f'(x), all contiguous; y = f(x) as in the CPU launcher.
template <typename T>
void unary_backward(UnaryOp op, const T* x, const T* y, const T* dy, T* dx, int64_t n,
                    cudaStream_t stream);

template <typename T>
void binary(BinaryOp op, const T* a, const StridedLayout& a_layout, const T* b,
            const StridedLayout& b_layout, T* out, int64_t n, cudaStream_t stream);

template <typename T>
void compare(CompareOp op, const T* a, const StridedLayout& a_layout, const T* b,
             const StridedLayout& b_layout, bool* out, int64_t n, cudaStream_t stream);

}  // namespace kiln::kernels::cuda
