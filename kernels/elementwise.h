#pragma once
// Elementwise launchers. Binary ops read both operands through layouts over the output's shape
// (stride 0 on broadcast dims), so broadcasting and views cost no copies; the output is
// contiguous.
#include <cstdint>

#include "kernels/layout.h"

namespace kiln::kernels {

enum class UnaryOp { neg, exp, log, sqrt, tanh, sigmoid, relu, gelu, silu, abs };
enum class BinaryOp { add, sub, mul, div, pow, maximum, minimum };
enum class CompareOp { eq, ne, lt, le, gt, ge };

}  // namespace kiln::kernels

namespace kiln::kernels::cpu {

template <typename T>
void unary(UnaryOp op, const T* x, const StridedLayout& x_layout, T* y, int64_t n);
// dx = dy * f'(x), with x and dy contiguous. y = f(x) is passed for ops whose derivative is
// cheaper from the output (exp, tanh, sigmoid, sqrt).
template <typename T>
void unary_backward(UnaryOp op, const T* x, const T* y, const T* dy, T* dx, int64_t n);

template <typename T>
void binary(BinaryOp op, const T* a, const StridedLayout& a_layout, const T* b,
            const StridedLayout& b_layout, T* out, int64_t n);

template <typename T>
void compare(CompareOp op, const T* a, const StridedLayout& a_layout, const T* b,
             const StridedLayout& b_layout, bool* out, int64_t n);

}  // namespace kiln::kernels::cpu
