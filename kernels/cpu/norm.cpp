#include "kernels/norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vector_math.h"

// One row at a time while it sits in L1/L2: the statistics (accumulated in double), then the
// normalised output, so x is read from memory once and y written once. The backward recomputes
// x̂ = (x - mean) · rstd from the saved statistics.
namespace kiln::kernels::cpu {
namespace {

// The backward splits the rows into at most this many blocks, each summing its own partial
// weight/bias gradients; the partials are then added in block order. The count does not depend
// on the thread count, so neither do the sums.
constexpr int64_t kMaxBlocks = 64;

template <typename T>
KILN_VECTOR_CLONES void layer_norm_row(const T* x, const T* w, const T* b, T* y, T* mean_out,
                                       T* rstd_out, int64_t n, double eps) {
  double sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < n; ++j) sum += static_cast<double>(x[j]);
  const T mean = static_cast<T>(sum / static_cast<double>(n));
  double squares = 0;
#pragma omp simd reduction(+ : squares)
  for (int64_t j = 0; j < n; ++j) {
    const double d = static_cast<double>(x[j] - mean);
    squares += d * d;
  }
  const T rstd = static_cast<T>(1.0 / std::sqrt(squares / static_cast<double>(n) + eps));
  *mean_out = mean;
  *rstd_out = rstd;
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) {
    const T scaled = (x[j] - mean) * rstd * (w != nullptr ? w[j] : T(1));
    y[j] = b != nullptr ? scaled + b[j] : scaled;
  }
}

// dx = rstd · (gy - mean(gy) - x̂ · mean(gy · x̂)) with gy = g · weight; dw += g · x̂; db += g.
template <typename T>
KILN_VECTOR_CLONES void layer_norm_backward_row(const T* x, const T* w, T mean, T rstd, const T* g,
                                                T* dx, double* dw, double* db, int64_t n) {
  if (dx != nullptr) {
    double sum_gy = 0, sum_gy_xhat = 0;
#pragma omp simd reduction(+ : sum_gy, sum_gy_xhat)
    for (int64_t j = 0; j < n; ++j) {
      const T gy = g[j] * (w != nullptr ? w[j] : T(1));
      sum_gy += static_cast<double>(gy);
      sum_gy_xhat += static_cast<double>(gy * ((x[j] - mean) * rstd));
    }
    const T mean_gy = static_cast<T>(sum_gy / static_cast<double>(n));
    const T mean_gy_xhat = static_cast<T>(sum_gy_xhat / static_cast<double>(n));
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) {
      const T gy = g[j] * (w != nullptr ? w[j] : T(1));
      dx[j] = rstd * (gy - mean_gy - (x[j] - mean) * rstd * mean_gy_xhat);
    }
  }
  if (dw != nullptr) {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) dw[j] += static_cast<double>(g[j] * ((x[j] - mean) * rstd));
  }
  if (db != nullptr) {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) db[j] += static_cast<double>(g[j]);
  }
}

template <typename T>
KILN_VECTOR_CLONES void rms_norm_row(const T* x, const T* w, T* y, T* rstd_out, int64_t n,
                                     double eps) {
  double squares = 0;
#pragma omp simd reduction(+ : squares)
  for (int64_t j = 0; j < n; ++j) {
    const double v = static_cast<double>(x[j]);
    squares += v * v;
  }
  const T rstd = static_cast<T>(1.0 / std::sqrt(squares / static_cast<double>(n) + eps));
  *rstd_out = rstd;
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) y[j] = x[j] * rstd * (w != nullptr ? w[j] : T(1));
}

// dx = rstd · (gy - x̂ · mean(gy · x̂)) with gy = g · weight; dw += g · x̂.
template <typename T>
KILN_VECTOR_CLONES void rms_norm_backward_row(const T* x, const T* w, T rstd, const T* g, T* dx,
                                              double* dw, int64_t n) {
  if (dx != nullptr) {
    double sum_gy_xhat = 0;
#pragma omp simd reduction(+ : sum_gy_xhat)
    for (int64_t j = 0; j < n; ++j) {
      const T gy = g[j] * (w != nullptr ? w[j] : T(1));
      sum_gy_xhat += static_cast<double>(gy * (x[j] * rstd));
    }
    const T mean_gy_xhat = static_cast<T>(sum_gy_xhat / static_cast<double>(n));
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) {
      const T gy = g[j] * (w != nullptr ? w[j] : T(1));
      dx[j] = rstd * (gy - x[j] * rstd * mean_gy_xhat);
    }
  }
  if (dw != nullptr) {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) dw[j] += static_cast<double>(g[j] * (x[j] * rstd));
  }
}

// Runs row_fn(r, dw_partial, db_partial) over the rows block by block, then adds the blocks'
// partial sums into dweight / dbias (either may be null) in block order.
template <typename T, typename RowFn>
void backward_blocks(int64_t rows, int64_t cols, T* dweight, T* dbias, RowFn row_fn) {
  const int64_t blocks = std::min(rows, kMaxBlocks);
  std::vector<double> dw_part(dweight != nullptr ? static_cast<size_t>(blocks * cols) : 0, 0.0);
  std::vector<double> db_part(dbias != nullptr ? static_cast<size_t>(blocks * cols) : 0, 0.0);
#pragma omp parallel for if (rows * cols > kParallelWork) schedule(dynamic)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    double* dw = dweight != nullptr ? dw_part.data() + blk * cols : nullptr;
    double* db = dbias != nullptr ? db_part.data() + blk * cols : nullptr;
    for (int64_t r = blk * rows / blocks; r < (blk + 1) * rows / blocks; ++r) row_fn(r, dw, db);
  }
  for (auto [out, part] : {std::pair{dweight, &dw_part}, std::pair{dbias, &db_part}}) {
    if (out == nullptr) continue;
#pragma omp parallel for if (blocks * cols > kParallelWork) schedule(static)
    for (int64_t j = 0; j < cols; ++j) {
      double sum = 0;
      for (int64_t blk = 0; blk < blocks; ++blk)
        sum += (*part)[static_cast<size_t>(blk * cols + j)];
      out[j] = static_cast<T>(sum);
    }
  }
}

}  // namespace

template <typename T>
void layer_norm_forward(const T* x, const T* weight, const T* bias, T* y, T* mean, T* rstd,
                        int64_t rows, int64_t cols, double eps) {
  if (cols == 0) {
    std::fill(mean, mean + rows, T(0));
    std::fill(rstd, rstd + rows, T(0));
    return;
  }
#pragma omp parallel for if (rows * cols > kParallelWork) schedule(static)
  for (int64_t r = 0; r < rows; ++r)
    layer_norm_row(x + r * cols, weight, bias, y + r * cols, mean + r, rstd + r, cols, eps);
}

template <typename T>
void layer_norm_backward(const T* x, const T* weight, const T* mean, const T* rstd, const T* g,
                         T* dx, T* dweight, T* dbias, int64_t rows, int64_t cols) {
  backward_blocks(rows, cols, dweight, dbias, [&](int64_t r, double* dw, double* db) {
    layer_norm_backward_row(x + r * cols, weight, mean[r], rstd[r], g + r * cols,
                            dx != nullptr ? dx + r * cols : nullptr, dw, db, cols);
  });
}

template <typename T>
void rms_norm_forward(const T* x, const T* weight, T* y, T* rstd, int64_t rows, int64_t cols,
                      double eps) {
  if (cols == 0) {
    std::fill(rstd, rstd + rows, T(0));
    return;
  }
#pragma omp parallel for if (rows * cols > kParallelWork) schedule(static)
  for (int64_t r = 0; r < rows; ++r)
    rms_norm_row(x + r * cols, weight, y + r * cols, rstd + r, cols, eps);
}

template <typename T>
void rms_norm_backward(const T* x, const T* weight, const T* rstd, const T* g, T* dx, T* dweight,
                       int64_t rows, int64_t cols) {
  backward_blocks(rows, cols, dweight, static_cast<T*>(nullptr),
                  [&](int64_t r, double* dw, double*) {
                    rms_norm_backward_row(x + r * cols, weight, rstd[r], g + r * cols,
                                          dx != nullptr ? dx + r * cols : nullptr, dw, cols);
                  });
}

#define KILN_INSTANTIATE_NORM(T)                                                                  \
  template void layer_norm_forward<T>(const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t, \
                                      double);                                                    \
  template void layer_norm_backward<T>(const T*, const T*, const T*, const T*, const T*, T*, T*,  \
                                       T*, int64_t, int64_t);                                     \
  template void rms_norm_forward<T>(const T*, const T*, T*, T*, int64_t, int64_t, double);        \
  template void rms_norm_backward<T>(const T*, const T*, const T*, const T*, T*, T*, int64_t,     \
                                     int64_t);
KILN_INSTANTIATE_NORM(float)
KILN_INSTANTIATE_NORM(double)

}  // namespace kiln::kernels::cpu
