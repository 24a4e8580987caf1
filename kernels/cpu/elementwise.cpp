#include "kernels/elementwise.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace kiln::kernels::cpu {
namespace {

// Below this many elements, starting threads costs more than the work.
constexpr int64_t kParallelThreshold = 1 << 15;

template <typename T>
T gelu_inner(T x) {
  constexpr T kSqrt2OverPi = static_cast<T>(0.7978845608028654);
  return kSqrt2OverPi * (x + static_cast<T>(0.044715) * x * x * x);
}

template <typename T>
T sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

template <typename T>
T apply(UnaryOp op, T x) {
  switch (op) {
    case UnaryOp::neg: return -x;
    case UnaryOp::exp: return std::exp(x);
    case UnaryOp::log: return std::log(x);
    case UnaryOp::sqrt: return std::sqrt(x);
    case UnaryOp::tanh: return std::tanh(x);
    case UnaryOp::sigmoid: return sigmoid(x);
    case UnaryOp::relu: return x > T(0) ? x : T(0);
    case UnaryOp::gelu: return T(0.5) * x * (T(1) + std::tanh(gelu_inner(x)));
    case UnaryOp::silu: return x * sigmoid(x);
    case UnaryOp::abs: return std::abs(x);
  }
  return x;
}

template <typename T>
T derivative(UnaryOp op, T x, T y) {
  switch (op) {
    case UnaryOp::neg: return T(-1);
    case UnaryOp::exp: return y;
    case UnaryOp::log: return T(1) / x;
    case UnaryOp::sqrt: return T(0.5) / y;
    case UnaryOp::tanh: return T(1) - y * y;
    case UnaryOp::sigmoid: return y * (T(1) - y);
    case UnaryOp::relu: return x > T(0) ? T(1) : T(0);
    case UnaryOp::gelu: {
      const T t = std::tanh(gelu_inner(x));
      const T dinner = static_cast<T>(0.7978845608028654) * (T(1) + T(3 * 0.044715) * x * x);
      return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * dinner;
    }
    case UnaryOp::silu: {
      const T s = sigmoid(x);
      return s * (T(1) + x * (T(1) - s));
    }
    case UnaryOp::abs: return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
  }
  return T(0);
}

template <typename T>
T apply(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::add: return a + b;
    case BinaryOp::sub: return a - b;
    case BinaryOp::mul: return a * b;
    case BinaryOp::div: return a / b;
    case BinaryOp::pow: return std::pow(a, b);
    case BinaryOp::maximum: return std::max(a, b);
    case BinaryOp::minimum: return std::min(a, b);
  }
  return a;
}

template <typename T>
bool apply(CompareOp op, T a, T b) {
  switch (op) {
    case CompareOp::eq: return a == b;
    case CompareOp::ne: return a != b;
    case CompareOp::lt: return a < b;
    case CompareOp::le: return a <= b;
    case CompareOp::gt: return a > b;
    case CompareOp::ge: return a >= b;
  }
  return false;
}

// out[i] = f(a[i], b[i]) over layouts. The op is a template parameter of the loop so that the
// contiguous case compiles to a tight, vectorisable loop per op.
template <typename Out, typename T, typename F>
void zip(const T* a, const StridedLayout& la, const T* b, const StridedLayout& lb, Out* out,
         int64_t n, F f) {
  const bool a_contiguous = la.is_contiguous();
  const bool b_contiguous = lb.is_contiguous();
  const bool b_scalar = lb.ndim == 0;
  if (a_contiguous && b_contiguous && !b_scalar) {
#pragma omp parallel for simd if (n > kParallelThreshold) schedule(static)
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
  } else if (a_contiguous && b_scalar) {
    const T bv = b[0];
#pragma omp parallel for simd if (n > kParallelThreshold) schedule(static)
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], bv);
  } else {
#pragma omp parallel for if (n > kParallelThreshold) schedule(static)
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[la.offset_of(i)], b[lb.offset_of(i)]);
  }
}

}  // namespace

template <typename T>
void unary(UnaryOp op, const T* x, const StridedLayout& x_layout, T* y, int64_t n) {
  const bool contiguous = x_layout.is_contiguous();
#pragma omp parallel for if (n > kParallelThreshold) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = apply(op, x[contiguous ? i : x_layout.offset_of(i)]);
}

template <typename T>
void unary_backward(UnaryOp op, const T* x, const T* y, const T* dy, T* dx, int64_t n) {
#pragma omp parallel for if (n > kParallelThreshold) schedule(static)
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * derivative(op, x[i], y[i]);
}

template <typename T>
void binary(BinaryOp op, const T* a, const StridedLayout& a_layout, const T* b,
            const StridedLayout& b_layout, T* out, int64_t n) {
  switch (op) {
    case BinaryOp::add:
      return zip(a, a_layout, b, b_layout, out, n, [](T u, T v) { return u + v; });
    case BinaryOp::sub:
      return zip(a, a_layout, b, b_layout, out, n, [](T u, T v) { return u - v; });
    case BinaryOp::mul:
      return zip(a, a_layout, b, b_layout, out, n, [](T u, T v) { return u * v; });
    case BinaryOp::div:
      return zip(a, a_layout, b, b_layout, out, n, [](T u, T v) { return u / v; });
    default:
      return zip(a, a_layout, b, b_layout, out, n, [op](T u, T v) { return apply(op, u, v); });
  }
}

template <typename T>
void compare(CompareOp op, const T* a, const StridedLayout& a_layout, const T* b,
             const StridedLayout& b_layout, bool* out, int64_t n) {
  zip(a, a_layout, b, b_layout, out, n, [op](T u, T v) { return apply(op, u, v); });
}

#define KILN_INSTANTIATE_UNARY(T)                                                     \
  template void unary<T>(UnaryOp, const T*, const StridedLayout&, T*, int64_t);       \
  template void unary_backward<T>(UnaryOp, const T*, const T*, const T*, T*, int64_t);
#define KILN_INSTANTIATE_BINARY(T)                                                    \
  template void binary<T>(BinaryOp, const T*, const StridedLayout&, const T*,         \
                          const StridedLayout&, T*, int64_t);                         \
  template void compare<T>(CompareOp, const T*, const StridedLayout&, const T*,       \
                           const StridedLayout&, bool*, int64_t);

KILN_INSTANTIATE_UNARY(float)
KILN_INSTANTIATE_UNARY(double)
// Integer arithmetic and comparisons serve index tensors (offsets, accuracy counts).
KILN_INSTANTIATE_BINARY(float)
KILN_INSTANTIATE_BINARY(double)
KILN_INSTANTIATE_BINARY(int32_t)
KILN_INSTANTIATE_BINARY(int64_t)

}  // namespace kiln::kernels::cpu
