#include "kernels/loss.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vector_math.h"

namespace kiln::kernels::cpu {
namespace {

// Two passes over a row that stays in cache: its max, then Σ exp(x - max).
template <typename T>
KILN_VECTOR_CLONES T log_sum_exp_row(const T* x, int64_t n) {
  const T m = row_max(x, n);
  return m + std::log(row_sum_exp(x, n, m));
}

template <typename T>
KILN_VECTOR_CLONES void cross_entropy_backward_row(const T* x, T lse, T scale, T* dx, int64_t n) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) dx[j] = fast_exp(x[j] - lse) * scale;
}

}  // namespace

template <typename T, typename I>
double cross_entropy_forward(const T* logits, const I* targets, int64_t rows, int64_t cols,
                             int64_t ignore_index, T* lse, int64_t* count) {
  // Per-row losses first, then one sum in row order: the result does not depend on threads.
  std::vector<double> losses(static_cast<size_t>(rows), 0.0);
#pragma omp parallel for if (rows * cols > kParallelWork) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const T* x = logits + r * cols;
    lse[r] = log_sum_exp_row(x, cols);
    const auto t = static_cast<int64_t>(targets[r]);
    if (t != ignore_index)
      losses[static_cast<size_t>(r)] = static_cast<double>(lse[r]) - static_cast<double>(x[t]);
  }
  double total = 0.0;
  int64_t counted = 0;
  for (int64_t r = 0; r < rows; ++r) {
    if (static_cast<int64_t>(targets[r]) == ignore_index) continue;
    total += losses[static_cast<size_t>(r)];
    ++counted;
  }
  *count = counted;
  return total;
}

template <typename T, typename I>
void cross_entropy_backward(const T* logits, const I* targets, const T* lse, int64_t rows,
                            int64_t cols, int64_t ignore_index, T scale, T* dlogits) {
#pragma omp parallel for if (rows * cols > kParallelWork) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    T* dx = dlogits + r * cols;
    const auto t = static_cast<int64_t>(targets[r]);
    if (t == ignore_index) {
      std::fill(dx, dx + cols, T(0));
      continue;
    }
    cross_entropy_backward_row(logits + r * cols, lse[r], scale, dx, cols);
    dx[t] -= scale;
  }
}

#define KILN_INSTANTIATE_LOSS(T, I)                                                              \
  template double cross_entropy_forward<T, I>(const T*, const I*, int64_t, int64_t, int64_t, T*, \
                                              int64_t*);                                         \
  template void cross_entropy_backward<T, I>(const T*, const I*, const T*, int64_t, int64_t,     \
                                             int64_t, T, T*);
KILN_INSTANTIATE_LOSS(float, int32_t)
KILN_INSTANTIATE_LOSS(float, int64_t)
KILN_INSTANTIATE_LOSS(double, int32_t)
KILN_INSTANTIATE_LOSS(double, int64_t)

}  // namespace kiln::kernels::cpu
