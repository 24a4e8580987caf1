#pragma once
// Vectorisable math for the row kernels (softmax, log-softmax, norms, cross-entropy, attention):
// exp, the row reductions built on it, and the attribute that compiles a row function for AVX2.
//
// std::exp is a libm call GCC cannot vectorise without -ffast-math, and it would dominate a
// softmax that should run at memory speed. For f32 this is Cephes' expf (range reduction by
// n·ln2 with ln2 split in two, degree-5 polynomial): within 2 ulp of exp on [-87, 88], 0 below,
// inf above, NaN for NaN. f64 (gradient checks) keeps std::exp.
//
// Written so that GCC vectorises loops over it under the default -ftrapping-math: selects are
// integer bit operations, because a float `c ? a : b` lets the optimiser thread the float
// arithmetic into branches, and possibly-trapping math inside a branch blocks if-conversion.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

// A function marked KILN_VECTOR_CLONES is compiled twice, for x86-64-v3 (AVX2 + FMA) and for
// the baseline the build targets, and the loader picks the one the CPU runs: exp-heavy rows run
// about 3x faster with AVX2. Mark per-row functions, not ones holding an `omp parallel` region
// (the outlined parallel body would not inherit the target).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define KILN_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define KILN_VECTOR_CLONES
#endif

namespace kiln::kernels::cpu {

// mask ? a : b for a mask of all ones or all zeros.
inline float select_bits(int32_t mask, float a, float b) {
  return std::bit_cast<float>((std::bit_cast<int32_t>(a) & mask) |
                              (std::bit_cast<int32_t>(b) & ~mask));
}

[[gnu::always_inline]] inline float fast_exp(float x) {
  constexpr float kLo = -87.0f;  // exp(-87) is still a normal float
  constexpr float kHi = 88.0f;
  constexpr float kLog2e = 1.44269504088896341f;
  // Adding 1.5·2^23 rounds to the nearest integer (SSE2 cannot vectorise floor()), and leaves
  // that integer in the low mantissa bits.
  constexpr float kRound = 12582912.0f;
  const int32_t below = -static_cast<int32_t>(x < kLo);
  const int32_t above = -static_cast<int32_t>(x > kHi);
  const float c = select_bits(below, kLo, select_bits(above, kHi, x));
  const float t = c * kLog2e + kRound;
  const float n = t - kRound;
  const int32_t ni = std::bit_cast<int32_t>(t) - std::bit_cast<int32_t>(kRound);
  const float r = (c - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = (p * r * r + r + 1.0f) * std::bit_cast<float>((ni + 127) << 23);
  return select_bits(below, 0.0f, select_bits(above, std::numeric_limits<float>::infinity(), e));
}

inline double fast_exp(double x) {
  return std::exp(x);
}

// The loops below carry `omp simd` because GCC vectorises neither a float max nor a float sum
// on its own (both reorder IEEE operations); a few partial results are as accurate.
template <typename T>
[[gnu::always_inline]] inline T row_max(const T* x, int64_t n) {
  T m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
  for (int64_t j = 0; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

// Σ_j exp(x[j] - shift).
template <typename T>
[[gnu::always_inline]] inline T row_sum_exp(const T* x, int64_t n, T shift) {
  T s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t j = 0; j < n; ++j) s += fast_exp(x[j] - shift);
  return s;
}

// y[j] = exp(x[j] - shift); returns Σ_j y[j].
template <typename T>
[[gnu::always_inline]] inline T row_exp(const T* x, T* y, int64_t n, T shift) {
  T s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t j = 0; j < n; ++j) {
    y[j] = fast_exp(x[j] - shift);
    s += y[j];
  }
  return s;
}

}  // namespace kiln::kernels::cpu
