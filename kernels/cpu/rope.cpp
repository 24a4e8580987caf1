#include "kernels/rope.h"

// One (outer, t) slab at a time: its table row is read once for every inner vector.
namespace kiln::kernels::cpu {
namespace {

constexpr int64_t kParallelWork = 1 << 15;

}  // namespace

template <typename T, typename C>
void rope(const T* x, const C* cos, const C* sin, T* y, int64_t outer, int64_t time, int64_t inner,
          int64_t dim, int64_t start, bool inverse) {
  const int64_t half = dim / 2;
  const C sign = inverse ? C(-1) : C(1);
  const int64_t slabs = outer * time;
#pragma omp parallel for if (slabs * inner * dim >= kParallelWork)
  for (int64_t s = 0; s < slabs; ++s) {
    const int64_t position = start + s % time;
    const C* c = cos + position * half;
    const C* sn = sin + position * half;
    for (int64_t j = 0; j < inner; ++j) {
      const int64_t base = (s * inner + j) * dim;
      const T* xv = x + base;
      T* yv = y + base;
#pragma omp simd
      for (int64_t i = 0; i < half; ++i) {
        const C x1 = static_cast<C>(xv[i]);
        const C x2 = static_cast<C>(xv[i + half]);
        const C si = sign * sn[i];
        yv[i] = static_cast<T>(x1 * c[i] - x2 * si);
        yv[i + half] = static_cast<T>(x2 * c[i] + x1 * si);
      }
    }
  }
}

template void rope<float, float>(const float*, const float*, const float*, float*, int64_t, int64_t,
                                 int64_t, int64_t, int64_t, bool);
template void rope<double, double>(const double*, const double*, const double*, double*, int64_t,
                                   int64_t, int64_t, int64_t, int64_t, bool);

}  // namespace kiln::kernels::cpu
