#include "kernels/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/causal_mask.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vector_math.h"

// One row at a time, each in a few passes while it sits in L1/L2: the max, then the
// exponentials (written to y) with their sum, then the scaling. So x is read from memory once
// and y written once, as in a copy. Each row's unmasked keys are a prefix of n of its cols.
namespace kiln::kernels::cpu {
namespace {

template <typename T>
KILN_VECTOR_CLONES void softmax_row(const T* x, T* y, int64_t n, int64_t cols) {
  if (n > 0) {
    const T inv = T(1) / row_exp(x, y, n, row_max(x, n));
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) y[j] *= inv;
  }
  std::fill(y + n, y + cols, T(0));
}

template <typename T>
KILN_VECTOR_CLONES void log_softmax_row(const T* x, T* y, int64_t n, int64_t cols) {
  if (n > 0) {
    const T m = row_max(x, n);
    const T log_sum = std::log(row_sum_exp(x, n, m));
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) y[j] = (x[j] - m) - log_sum;
  }
  std::fill(y + n, y + cols, -std::numeric_limits<T>::infinity());
}

template <typename T>
KILN_VECTOR_CLONES void softmax_backward_row(const T* y, const T* g, T* dx, int64_t n,
                                             int64_t cols) {
  T dot = 0;
#pragma omp simd reduction(+ : dot)
  for (int64_t j = 0; j < n; ++j) dot += g[j] * y[j];
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) dx[j] = y[j] * (g[j] - dot);
  std::fill(dx + n, dx + cols, T(0));
}

template <typename T>
KILN_VECTOR_CLONES void log_softmax_backward_row(const T* y, const T* g, T* dx, int64_t n,
                                                 int64_t cols) {
  T sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < n; ++j) sum += g[j];
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) dx[j] = g[j] - fast_exp(y[j]) * sum;
  std::fill(dx + n, dx + cols, T(0));
}

}  // namespace

template <typename T>
void softmax_forward(const T* x, T* y, int64_t rows, int64_t cols, bool causal, int64_t tq) {
#pragma omp parallel for if (rows * cols > kParallelWork) schedule(static)
  for (int64_t r = 0; r < rows; ++r)
    softmax_row(x + r * cols, y + r * cols, causal_valid_cols(r, cols, causal, tq), cols);
}

template <typename T>
void log_softmax_forward(const T* x, T* y, int64_t rows, int64_t cols, bool causal, int64_t tq) {
#pragma omp parallel for if (rows * cols > kParallelWork) schedule(static)
  for (int64_t r = 0; r < rows; ++r)
    log_softmax_row(x + r * cols, y + r * cols, causal_valid_cols(r, cols, causal, tq), cols);
}

template <typename T>
void softmax_backward(const T* y, const T* g, T* dx, int64_t rows, int64_t cols, bool causal,
                      int64_t tq) {
#pragma omp parallel for if (rows * cols > kParallelWork) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    softmax_backward_row(y + r * cols, g + r * cols, dx + r * cols,
                         causal_valid_cols(r, cols, causal, tq), cols);
  }
}

template <typename T>
void log_softmax_backward(const T* y, const T* g, T* dx, int64_t rows, int64_t cols, bool causal,
                          int64_t tq) {
#pragma omp parallel for if (rows * cols > kParallelWork) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    log_softmax_backward_row(y + r * cols, g + r * cols, dx + r * cols,
                             causal_valid_cols(r, cols, causal, tq), cols);
  }
}

#define KILN_INSTANTIATE_SOFTMAX(T)                                                           \
  template void softmax_forward<T>(const T*, T*, int64_t, int64_t, bool, int64_t);            \
  template void log_softmax_forward<T>(const T*, T*, int64_t, int64_t, bool, int64_t);        \
  template void softmax_backward<T>(const T*, const T*, T*, int64_t, int64_t, bool, int64_t); \
  template void log_softmax_backward<T>(const T*, const T*, T*, int64_t, int64_t, bool, int64_t);
KILN_INSTANTIATE_SOFTMAX(float)
KILN_INSTANTIATE_SOFTMAX(double)

}  // namespace kiln::kernels::cpu
