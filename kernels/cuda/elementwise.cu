// Elementwise ops on CUDA: out[i] = f(a[i], b[i]) (or f(x[i])) with the op a template
// parameter, so each op compiles to its own straight-line kernel. Computes in f32 for the
// floating types (bf16/f16 are converted on load and rounded on store) and natively for i32/i64.
//
// Launch shape: a grid-stride loop over packs of 16 bytes (4 floats, 8 halves) when every
// operand is contiguous (or a broadcast scalar) and aligned: the ops are memory bound, and wide
// loads are what reach DRAM bandwidth. Anything else (broadcast rows, transposed views, odd
// offsets) takes a one-element-per-thread path through StridedLayout::offset_of, which handles
// every layout without a copy.
#include <cmath>
#include <type_traits>

#include "kernels/cuda/convert.cuh"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/pack.cuh"

namespace kiln::kernels::cuda {
namespace {

// The type an element is computed in.
template <typename T>
using Compute = std::conditional_t<std::is_integral_v<T>, T, float>;

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kGeluCubic = 0.044715f;

__device__ inline float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

// The CPU kernel's formulas (kernels/cpu/elementwise.cpp), in f32. The switches are on a
// template parameter, so each instantiation compiles to its one case.
template <UnaryOp Op>
struct UnaryFn {
  __device__ float operator()(float x) const {
    switch (Op) {
      case UnaryOp::neg: return -x;
      case UnaryOp::exp: return expf(x);
      case UnaryOp::log: return logf(x);
      case UnaryOp::sqrt: return sqrtf(x);
      case UnaryOp::tanh: return tanhf(x);
      case UnaryOp::sigmoid: return sigmoid(x);
      case UnaryOp::relu: return x > 0.0f ? x : 0.0f;
      case UnaryOp::gelu:
        return 0.5f * x * (1.0f + tanhf(kSqrt2OverPi * (x + kGeluCubic * x * x * x)));
      case UnaryOp::silu: return x * sigmoid(x);
      case UnaryOp::abs: return fabsf(x);
    }
    return x;
  }
};

// dy * f'(x), with y = f(x) for the ops whose derivative is cheaper from the output.
template <UnaryOp Op>
struct UnaryGradFn {
  __device__ float operator()(float x, float y, float dy) const { return dy * derivative(x, y); }

  __device__ static float derivative(float x, float y) {
    switch (Op) {
      case UnaryOp::neg: return -1.0f;
      case UnaryOp::exp: return y;
      case UnaryOp::log: return 1.0f / x;
      case UnaryOp::sqrt: return 0.5f / y;
      case UnaryOp::tanh: return 1.0f - y * y;
      case UnaryOp::sigmoid: return y * (1.0f - y);
      case UnaryOp::relu: return x > 0.0f ? 1.0f : 0.0f;
      case UnaryOp::gelu: {
        const float t = tanhf(kSqrt2OverPi * (x + kGeluCubic * x * x * x));
        const float dinner = kSqrt2OverPi * (1.0f + 3.0f * kGeluCubic * x * x);
        return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * dinner;
      }
      case UnaryOp::silu: {
        const float s = sigmoid(x);
        return s * (1.0f + x * (1.0f - s));
      }
      case UnaryOp::abs: return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
    }
    return 0.0f;
  }
};

template <BinaryOp Op>
struct BinaryFn {
  template <typename C>
  __device__ C operator()(C a, C b) const {
    switch (Op) {
      case BinaryOp::add: return a + b;
      case BinaryOp::sub: return a - b;
      case BinaryOp::mul: return a * b;
      case BinaryOp::div: return a / b;
      case BinaryOp::pow:
        // std::pow on integers computes in double, as the CPU kernel does.
        if constexpr (std::is_integral_v<C>) {
          return static_cast<C>(::pow(static_cast<double>(a), static_cast<double>(b)));
        } else {
          return powf(a, b);
        }
      // As std::max / std::min, NaN handling included.
      case BinaryOp::maximum: return a < b ? b : a;
      case BinaryOp::minimum: return b < a ? b : a;
    }
    return a;
  }
};

template <CompareOp Op>
struct CompareFn {
  template <typename C>
  __device__ bool operator()(C a, C b) const {
    switch (Op) {
      case CompareOp::eq: return a == b;
      case CompareOp::ne: return a != b;
      case CompareOp::lt: return a < b;
      case CompareOp::le: return a <= b;
      case CompareOp::gt: return a > b;
      case CompareOp::ge: return a >= b;
    }
    return false;
  }
};

template <int N, typename T, typename F>
__global__ void unary_contiguous_kernel(const T* x, T* y, int64_t n, F f) {
  const int64_t packs = (n + N - 1) / N;
  for (int64_t p = global_thread(); p < packs; p += grid_threads()) {
    const int64_t i = p * N;
    if (i + N <= n) {
      const Pack<T, N> in = load_pack<N>(x + i);
      Pack<T, N> out;
#pragma unroll
      for (int k = 0; k < N; ++k) out.v[k] = convert<T>(f(to_float(in.v[k])));
      store_pack<N>(y + i, out);
    } else {
      for (int64_t k = i; k < n; ++k) y[k] = convert<T>(f(to_float(x[k])));
    }
  }
}

template <typename T, typename F>
__global__ void unary_strided_kernel(const T* x, StridedLayout x_layout, T* y, int64_t n, F f) {
  for (int64_t i = global_thread(); i < n; i += grid_threads())
    y[i] = convert<T>(f(to_float(x[x_layout.offset_of(i)])));
}

template <int N, typename T, typename F>
__global__ void unary_backward_kernel(const T* x, const T* y, const T* dy, T* dx, int64_t n, F f) {
  const int64_t packs = (n + N - 1) / N;
  for (int64_t p = global_thread(); p < packs; p += grid_threads()) {
    const int64_t i = p * N;
    if (i + N <= n) {
      const Pack<T, N> xv = load_pack<N>(x + i);
      const Pack<T, N> yv = load_pack<N>(y + i);
      const Pack<T, N> gv = load_pack<N>(dy + i);
      Pack<T, N> out;
#pragma unroll
      for (int k = 0; k < N; ++k)
        out.v[k] = convert<T>(f(to_float(xv.v[k]), to_float(yv.v[k]), to_float(gv.v[k])));
      store_pack<N>(dx + i, out);
    } else {
      for (int64_t k = i; k < n; ++k)
        dx[k] = convert<T>(f(to_float(x[k]), to_float(y[k]), to_float(dy[k])));
    }
  }
}

// Both operands contiguous or broadcast scalars (read once, from element 0).
template <int N, typename T, typename Out, typename F>
__global__ void zip_contiguous_kernel(const T* a, bool a_scalar, const T* b, bool b_scalar,
                                      Out* out, int64_t n, F f) {
  using C = Compute<T>;
  const int64_t packs = (n + N - 1) / N;
  for (int64_t p = global_thread(); p < packs; p += grid_threads()) {
    const int64_t i = p * N;
    if (i + N <= n) {
      Pack<T, N> av, bv;
      if (a_scalar) {
#pragma unroll
        for (int k = 0; k < N; ++k) av.v[k] = a[0];
      } else {
        av = load_pack<N>(a + i);
      }
      if (b_scalar) {
#pragma unroll
        for (int k = 0; k < N; ++k) bv.v[k] = b[0];
      } else {
        bv = load_pack<N>(b + i);
      }
      Pack<Out, N> result;
#pragma unroll
      for (int k = 0; k < N; ++k)
        result.v[k] = convert<Out>(f(convert<C>(av.v[k]), convert<C>(bv.v[k])));
      store_pack<N>(out + i, result);
    } else {
      for (int64_t k = i; k < n; ++k)
        out[k] = convert<Out>(f(convert<C>(a[a_scalar ? 0 : k]), convert<C>(b[b_scalar ? 0 : k])));
    }
  }
}

template <typename T, typename Out, typename F>
__global__ void zip_strided_kernel(const T* a, StridedLayout la, const T* b, StridedLayout lb,
                                   Out* out, int64_t n, F f) {
  using C = Compute<T>;
  for (int64_t i = global_thread(); i < n; i += grid_threads())
    out[i] = convert<Out>(f(convert<C>(a[la.offset_of(i)]), convert<C>(b[lb.offset_of(i)])));
}

// Every element of the layout is the same one (all strides zero).
bool is_broadcast_scalar(const StridedLayout& layout) {
  for (int d = 0; d < layout.ndim; ++d)
    if (layout.strides[d] != 0) return false;
  return true;
}

template <typename F>
void with_unary(UnaryOp op, F&& f) {
  switch (op) {
    case UnaryOp::neg: return f(std::integral_constant<UnaryOp, UnaryOp::neg>{});
    case UnaryOp::exp: return f(std::integral_constant<UnaryOp, UnaryOp::exp>{});
    case UnaryOp::log: return f(std::integral_constant<UnaryOp, UnaryOp::log>{});
    case UnaryOp::sqrt: return f(std::integral_constant<UnaryOp, UnaryOp::sqrt>{});
    case UnaryOp::tanh: return f(std::integral_constant<UnaryOp, UnaryOp::tanh>{});
    case UnaryOp::sigmoid: return f(std::integral_constant<UnaryOp, UnaryOp::sigmoid>{});
    case UnaryOp::relu: return f(std::integral_constant<UnaryOp, UnaryOp::relu>{});
    case UnaryOp::gelu: return f(std::integral_constant<UnaryOp, UnaryOp::gelu>{});
    case UnaryOp::silu: return f(std::integral_constant<UnaryOp, UnaryOp::silu>{});
    case UnaryOp::abs: return f(std::integral_constant<UnaryOp, UnaryOp::abs>{});
  }
}

template <typename F>
void with_binary(BinaryOp op, F&& f) {
  switch (op) {
    case BinaryOp::add: return f(BinaryFn<BinaryOp::add>{});
    case BinaryOp::sub: return f(BinaryFn<BinaryOp::sub>{});
    case BinaryOp::mul: return f(BinaryFn<BinaryOp::mul>{});
    case BinaryOp::div: return f(BinaryFn<BinaryOp::div>{});
    case BinaryOp::pow: return f(BinaryFn<BinaryOp::pow>{});
    case BinaryOp::maximum: return f(BinaryFn<BinaryOp::maximum>{});
    case BinaryOp::minimum: return f(BinaryFn<BinaryOp::minimum>{});
  }
}

template <typename F>
void with_compare(CompareOp op, F&& f) {
  switch (op) {
    case CompareOp::eq: return f(CompareFn<CompareOp::eq>{});
    case CompareOp::ne: return f(CompareFn<CompareOp::ne>{});
    case CompareOp::lt: return f(CompareFn<CompareOp::lt>{});
    case CompareOp::le: return f(CompareFn<CompareOp::le>{});
    case CompareOp::gt: return f(CompareFn<CompareOp::gt>{});
    case CompareOp::ge: return f(CompareFn<CompareOp::ge>{});
  }
}

template <typename T, typename Out, typename F>
void launch_zip(const T* a, const StridedLayout& la, const T* b, const StridedLayout& lb, Out* out,
                int64_t n, F f, cudaStream_t stream) {
  if (n == 0) return;
  const bool a_scalar = is_broadcast_scalar(la);
  const bool b_scalar = is_broadcast_scalar(lb);
  if ((a_scalar || la.is_contiguous()) && (b_scalar || lb.is_contiguous())) {
    constexpr int N = kPackSize<T>;
    if ((a_scalar || aligned_to(a, sizeof(Pack<T, N>))) &&
        (b_scalar || aligned_to(b, sizeof(Pack<T, N>))) && aligned_to(out, sizeof(Pack<Out, N>))) {
      zip_contiguous_kernel<N><<<grid_for((n + N - 1) / N), kBlockSize, 0, stream>>>(
          a, a_scalar, b, b_scalar, out, n, f);
    } else {
      zip_contiguous_kernel<1>
          <<<grid_for(n), kBlockSize, 0, stream>>>(a, a_scalar, b, b_scalar, out, n, f);
    }
  } else {
    zip_strided_kernel<<<grid_for(n), kBlockSize, 0, stream>>>(a, la, b, lb, out, n, f);
  }
  KILN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

template <typename T>
void unary(UnaryOp op, const T* x, const StridedLayout& x_layout, T* y, int64_t n,
           cudaStream_t stream) {
  if (n == 0) return;
  with_unary(op, [&](auto kind) {
    const UnaryFn<decltype(kind)::value> f{};
    constexpr int N = kPackSize<T>;
    if (!x_layout.is_contiguous()) {
      unary_strided_kernel<<<grid_for(n), kBlockSize, 0, stream>>>(x, x_layout, y, n, f);
    } else if (aligned_to(x, sizeof(Pack<T, N>)) && aligned_to(y, sizeof(Pack<T, N>))) {
      unary_contiguous_kernel<N><<<grid_for((n + N - 1) / N), kBlockSize, 0, stream>>>(x, y, n, f);
    } else {
      unary_contiguous_kernel<1><<<grid_for(n), kBlockSize, 0, stream>>>(x, y, n, f);
    }
  });
  KILN_CUDA_CHECK(cudaGetLastError());
}

template <typename T>
void unary_backward(UnaryOp op, const T* x, const T* y, const T* dy, T* dx, int64_t n,
                    cudaStream_t stream) {
  if (n == 0) return;
  with_unary(op, [&](auto kind) {
    const UnaryGradFn<decltype(kind)::value> f{};
    constexpr int N = kPackSize<T>;
    constexpr int64_t bytes = sizeof(Pack<T, N>);
    if (aligned_to(x, bytes) && aligned_to(y, bytes) && aligned_to(dy, bytes) &&
        aligned_to(dx, bytes)) {
      unary_backward_kernel<N>
          <<<grid_for((n + N - 1) / N), kBlockSize, 0, stream>>>(x, y, dy, dx, n, f);
    } else {
      unary_backward_kernel<1><<<grid_for(n), kBlockSize, 0, stream>>>(x, y, dy, dx, n, f);
    }
  });
  KILN_CUDA_CHECK(cudaGetLastError());
}

template <typename T>
void binary(BinaryOp op, const T* a, const StridedLayout& a_layout, const T* b,
            const StridedLayout& b_layout, T* out, int64_t n, cudaStream_t stream) {
  with_binary(op, [&](auto f) { launch_zip(a, a_layout, b, b_layout, out, n, f, stream); });
}

template <typename T>
void compare(CompareOp op, const T* a, const StridedLayout& a_layout, const T* b,
             const StridedLayout& b_layout, bool* out, int64_t n, cudaStream_t stream) {
  with_compare(op, [&](auto f) { launch_zip(a, a_layout, b, b_layout, out, n, f, stream); });
}

#define KILN_CUDA_INSTANTIATE_UNARY(T)                                                        \
  template void unary<T>(UnaryOp, const T*, const StridedLayout&, T*, int64_t, cudaStream_t); \
  template void unary_backward<T>(UnaryOp, const T*, const T*, const T*, T*, int64_t, cudaStream_t);
#define KILN_CUDA_INSTANTIATE_BINARY(T)                                         \
  template void binary<T>(BinaryOp, const T*, const StridedLayout&, const T*,   \
                          const StridedLayout&, T*, int64_t, cudaStream_t);     \
  template void compare<T>(CompareOp, const T*, const StridedLayout&, const T*, \
                           const StridedLayout&, bool*, int64_t, cudaStream_t);

KILN_CUDA_INSTANTIATE_UNARY(float)
KILN_CUDA_INSTANTIATE_UNARY(bf16)
KILN_CUDA_INSTANTIATE_UNARY(f16)
// Integer arithmetic and comparisons serve index tensors, as on the CPU.
KILN_CUDA_INSTANTIATE_BINARY(float)
KILN_CUDA_INSTANTIATE_BINARY(bf16)
KILN_CUDA_INSTANTIATE_BINARY(f16)
KILN_CUDA_INSTANTIATE_BINARY(int32_t)
KILN_CUDA_INSTANTIATE_BINARY(int64_t)

}  // namespace kiln::kernels::cuda
