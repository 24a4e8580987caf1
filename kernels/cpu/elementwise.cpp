#include "kernels/elementwise.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <type_traits>

#include "kernels/cpu/vector_math.h"

namespace kiln::kernels::cpu {
namespace {

// Below this many elements, starting threads costs more than the work.
constexpr int64_t kParallelThreshold = 1 << 15;
// Contiguous maps run in chunks of this many elements, one chunk per task.
constexpr int64_t kChunk = 1 << 14;

template <typename T>
[[gnu::always_inline]] inline T gelu_inner(T x) {
  constexpr T kSqrt2OverPi = static_cast<T>(0.7978845608028654);
  return kSqrt2OverPi * (x + static_cast<T>(0.044715) * x * x * x);
}

// fast_exp (vector_math.h) keeps these vectorisable in f32; in f64 it is std::exp. Always
// inlined: an out-of-line call in the map loops below would stop them vectorising.
template <typename T>
[[gnu::always_inline]] inline T sigmoid(T x) {
  return T(1) / (T(1) + fast_exp(-x));
}

// GELU's tanh approximation, 0.5·x·(1 + tanh(u)), written as x·sigmoid(2u): the same function
// (1 + tanh(u) = 2·sigmoid(2u)) but one exp and one division, which vectorise, instead of a
// libm tanh, which does not. It saturates cleanly: exp overflows to inf and the result to ±0.
template <typename T>
[[gnu::always_inline]] inline T gelu(T x) {
  return x * sigmoid(T(2) * gelu_inner(x));
}

// d/dx of x·s with s = sigmoid(2u): s + 2·x·s·(1 - s)·u'.
template <typename T>
[[gnu::always_inline]] inline T gelu_derivative(T x) {
  const T s = sigmoid(T(2) * gelu_inner(x));
  const T dinner = static_cast<T>(0.7978845608028654) * (T(1) + T(3 * 0.044715) * x * x);
  return s + T(2) * x * s * (T(1) - s) * dinner;
}

template <typename T>
[[gnu::always_inline]] inline T apply(UnaryOp op, T x) {
  switch (op) {
    case UnaryOp::neg:
      return -x;
    case UnaryOp::exp:
      return std::exp(x);
    case UnaryOp::log:
      return std::log(x);
    case UnaryOp::sqrt:
      return std::sqrt(x);
    case UnaryOp::tanh:
      return std::tanh(x);
    case UnaryOp::sigmoid:
      return sigmoid(x);
    case UnaryOp::relu:
      return x > T(0) ? x : T(0);
    case UnaryOp::gelu:
      return gelu(x);
    case UnaryOp::silu:
      return x * sigmoid(x);
    case UnaryOp::abs:
      return std::abs(x);
  }
  return x;
}

template <typename T>
[[gnu::always_inline]] inline T derivative(UnaryOp op, T x, T y) {
  switch (op) {
    case UnaryOp::neg:
      return T(-1);
    case UnaryOp::exp:
      return y;
    case UnaryOp::log:
      return T(1) / x;
    case UnaryOp::sqrt:
      return T(0.5) / y;
    case UnaryOp::tanh:
      return T(1) - y * y;
    case UnaryOp::sigmoid:
      return y * (T(1) - y);
    case UnaryOp::relu:
      return x > T(0) ? T(1) : T(0);
    case UnaryOp::gelu:
      return gelu_derivative(x);
    case UnaryOp::silu: {
      const T s = sigmoid(x);
      return s * (T(1) + x * (T(1) - s));
    }
    case UnaryOp::abs:
      return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
  }
  return T(0);
}

// body(begin, end) over [0, n): one call when n is small, chunks spread over threads otherwise.
template <typename F>
void for_chunks(int64_t n, F body) {
  if (n <= kParallelThreshold) {
    body(int64_t{0}, n);
    return;
  }
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) body(c * kChunk, std::min(n, (c + 1) * kChunk));
}

// y[i] = f(x[i]) and dx[i] = dy[i] · f(x[i], y[i]) over contiguous ranges. Each op reaches these
// as its own lambda, so the loop has no switch in it and vectorises (with AVX2 when the CPU has
// it); a switch per element, as apply() has, keeps GCC from vectorising anything.
template <typename T, typename F>
KILN_VECTOR_CLONES void map_range(const T* x, T* y, int64_t n, F f) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

template <typename T, typename F>
KILN_VECTOR_CLONES void map_backward_range(const T* x, const T* y, const T* dy, T* dx, int64_t n,
                                           F f) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * f(x[i], y[i]);
}

// Calls visit with the op as a compile-time constant.
template <typename F>
void with_unary_op(UnaryOp op, F visit) {
  switch (op) {
    case UnaryOp::neg:
      return visit(std::integral_constant<UnaryOp, UnaryOp::neg>{});
    case UnaryOp::exp:
      return visit(std::integral_constant<UnaryOp, UnaryOp::exp>{});
    case UnaryOp::log:
      return visit(std::integral_constant<UnaryOp, UnaryOp::log>{});
    case UnaryOp::sqrt:
      return visit(std::integral_constant<UnaryOp, UnaryOp::sqrt>{});
    case UnaryOp::tanh:
      return visit(std::integral_constant<UnaryOp, UnaryOp::tanh>{});
    case UnaryOp::sigmoid:
      return visit(std::integral_constant<UnaryOp, UnaryOp::sigmoid>{});
    case UnaryOp::relu:
      return visit(std::integral_constant<UnaryOp, UnaryOp::relu>{});
    case UnaryOp::gelu:
      return visit(std::integral_constant<UnaryOp, UnaryOp::gelu>{});
    case UnaryOp::silu:
      return visit(std::integral_constant<UnaryOp, UnaryOp::silu>{});
    case UnaryOp::abs:
      return visit(std::integral_constant<UnaryOp, UnaryOp::abs>{});
  }
}

template <typename T>
T apply(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::add:
      return a + b;
    case BinaryOp::sub:
      return a - b;
    case BinaryOp::mul:
      return a * b;
    case BinaryOp::div:
      return a / b;
    case BinaryOp::pow:
      return std::pow(a, b);
    case BinaryOp::maximum:
      return std::max(a, b);
    case BinaryOp::minimum:
      return std::min(a, b);
  }
  return a;
}

template <typename T>
bool apply(CompareOp op, T a, T b) {
  switch (op) {
    case CompareOp::eq:
      return a == b;
    case CompareOp::ne:
      return a != b;
    case CompareOp::lt:
      return a < b;
    case CompareOp::le:
      return a <= b;
    case CompareOp::gt:
      return a > b;
    case CompareOp::ge:
      return a >= b;
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
  if (!x_layout.is_contiguous()) {
#pragma omp parallel for if (n > kParallelThreshold) schedule(static)
    for (int64_t i = 0; i < n; ++i) y[i] = apply(op, x[x_layout.offset_of(i)]);
    return;
  }
  with_unary_op(op, [&](auto op_constant) {
    using Op = decltype(op_constant);
    for_chunks(n, [&](int64_t begin, int64_t end) {
      map_range(x + begin, y + begin, end - begin, [](T v) { return apply(Op::value, v); });
    });
  });
}

template <typename T>
void unary_backward(UnaryOp op, const T* x, const T* y, const T* dy, T* dx, int64_t n) {
  with_unary_op(op, [&](auto op_constant) {
    using Op = decltype(op_constant);
    for_chunks(n, [&](int64_t begin, int64_t end) {
      map_backward_range(x + begin, y + begin, dy + begin, dx + begin, end - begin,
                         [](T u, T v) { return derivative(Op::value, u, v); });
    });
  });
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

#define KILN_INSTANTIATE_UNARY(T)                                               \
  template void unary<T>(UnaryOp, const T*, const StridedLayout&, T*, int64_t); \
  template void unary_backward<T>(UnaryOp, const T*, const T*, const T*, T*, int64_t);
#define KILN_INSTANTIATE_BINARY(T)                                              \
  template void binary<T>(BinaryOp, const T*, const StridedLayout&, const T*,   \
                          const StridedLayout&, T*, int64_t);                   \
  template void compare<T>(CompareOp, const T*, const StridedLayout&, const T*, \
                           const StridedLayout&, bool*, int64_t);

KILN_INSTANTIATE_UNARY(float)
KILN_INSTANTIATE_UNARY(double)
// Integer arithmetic and comparisons serve index tensors (offsets, accuracy counts).
KILN_INSTANTIATE_BINARY(float)
KILN_INSTANTIATE_BINARY(double)
KILN_INSTANTIATE_BINARY(int32_t)
KILN_INSTANTIATE_BINARY(int64_t)

}  // namespace kiln::kernels::cpu
