#include "kernels/grad_clip.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace kiln::kernels::cpu {
namespace {

constexpr int64_t kBlock = 1 << 13;

}  // namespace

template <typename T>
double sum_of_squares(const T* x, int64_t n) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> partial(static_cast<size_t>(blocks), 0.0);
#pragma omp parallel for if (n > kParallelWork) schedule(static)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t end = std::min(n, (b + 1) * kBlock);
    double acc = 0;
    for (int64_t i = b * kBlock; i < end; ++i) {
      const double v = static_cast<double>(x[i]);
      acc += v * v;
    }
    partial[static_cast<size_t>(b)] = acc;
  }
  double total = 0;
  for (const double p : partial) total += p;
  return total;
}

template <typename T>
void scale_(T* x, int64_t n, double scale) {
  const T s = static_cast<T>(scale);
#pragma omp parallel for if (n > kParallelWork) schedule(static)
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

template <typename T>
bool all_finite(const T* x, int64_t n) {
  int64_t bad = 0;
#pragma omp parallel for if (n > kParallelWork) schedule(static) reduction(+ : bad)
  for (int64_t i = 0; i < n; ++i) bad += std::isfinite(x[i]) ? 0 : 1;
  return bad == 0;
}

template double sum_of_squares<float>(const float*, int64_t);
template double sum_of_squares<double>(const double*, int64_t);
template void scale_<float>(float*, int64_t, double);
template void scale_<double>(double*, int64_t, double);
template bool all_finite<float>(const float*, int64_t);
template bool all_finite<double>(const double*, int64_t);

}  // namespace kiln::kernels::cpu
