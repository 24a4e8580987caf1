#include "kernels/copy.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "kernels/cpu/convert.h"
#include "kernels/cpu/layout_cursor.h"

namespace kiln::kernels::cpu {

namespace {

// Below this many elements a copy or fill runs on the calling thread.
constexpr int64_t kParallelThreshold = 1 << 16;

// body(begin, end) over [0, n), split into one range per thread when n is large.
template <typename F>
void for_ranges(int64_t n, F body) {
  if (n <= kParallelThreshold) {
    body(int64_t{0}, n);
    return;
  }
#pragma omp parallel
  {
    const int64_t threads = omp_get_num_threads();
    const int64_t t = omp_get_thread_num();
    body(n * t / threads, n * (t + 1) / threads);
  }
}

template <typename Src, typename Dst>
void copy_run(const Src* src, int64_t src_stride, Dst* dst, int64_t dst_stride, int64_t k) {
  if (src_stride == 1 && dst_stride == 1) {
    for (int64_t j = 0; j < k; ++j) dst[j] = convert<Dst>(src[j]);
  } else {
    for (int64_t j = 0; j < k; ++j) dst[j * dst_stride] = convert<Dst>(src[j * src_stride]);
  }
}

}  // namespace

template <typename Src, typename Dst>
void copy_strided(const Src* src, const StridedLayout& src_layout, Dst* dst,
                  const StridedLayout& dst_layout, int64_t n) {
  if (n == 0) return;  // an empty shape has a 0 extent, which a cursor cannot divide by
  if constexpr (std::is_same_v<Src, Dst>) {
    if (src_layout.is_contiguous() && dst_layout.is_contiguous()) {
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(Src));
      return;
    }
  }
  // The two layouts describe the same row-major order, possibly with differently merged dims,
  // so each range advances both cursors by the shorter of their current runs.
  for_ranges(n, [&](int64_t begin, int64_t end) {
    LayoutCursor s(src_layout, begin);
    LayoutCursor d(dst_layout, begin);
    for (int64_t i = begin; i < end;) {
      const int64_t k = std::min({s.run(), d.run(), end - i});
      copy_run(src + s.offset(), s.inner_stride(), dst + d.offset(), d.inner_stride(), k);
      s.advance(k);
      d.advance(k);
      i += k;
    }
  });
}

template <typename T>
void fill(T* dst, const StridedLayout& layout, T value, int64_t n) {
  if (n == 0) return;
  for_ranges(n, [&](int64_t begin, int64_t end) {
    LayoutCursor d(layout, begin);
    for (int64_t i = begin; i < end;) {
      const int64_t k = std::min(d.run(), end - i);
      T* out = dst + d.offset();
      const int64_t stride = d.inner_stride();
      for (int64_t j = 0; j < k; ++j) out[j * stride] = value;
      d.advance(k);
      i += k;
    }
  });
}

#define KILN_FOR_EACH_ELEMENT_TYPE(X, ...) \
  X(float, __VA_ARGS__)                    \
  X(double, __VA_ARGS__)                   \
  X(bf16, __VA_ARGS__)                     \
  X(f16, __VA_ARGS__)                      \
  X(int32_t, __VA_ARGS__)                  \
  X(int64_t, __VA_ARGS__)                  \
  X(uint8_t, __VA_ARGS__)                  \
  X(bool, __VA_ARGS__)

#define KILN_INSTANTIATE_COPY(Dst, Src)                                        \
  template void copy_strided<Src, Dst>(const Src*, const StridedLayout&, Dst*, \
                                       const StridedLayout&, int64_t);
// A macro cannot expand itself, so the inner loop over destination types is spelled out.
#define KILN_INSTANTIATE_COPY_FROM(Src, _) \
  KILN_INSTANTIATE_COPY(float, Src)        \
  KILN_INSTANTIATE_COPY(double, Src)       \
  KILN_INSTANTIATE_COPY(bf16, Src)         \
  KILN_INSTANTIATE_COPY(f16, Src)          \
  KILN_INSTANTIATE_COPY(int32_t, Src)      \
  KILN_INSTANTIATE_COPY(int64_t, Src)      \
  KILN_INSTANTIATE_COPY(uint8_t, Src)      \
  KILN_INSTANTIATE_COPY(bool, Src)
KILN_FOR_EACH_ELEMENT_TYPE(KILN_INSTANTIATE_COPY_FROM, _)

#define KILN_INSTANTIATE_FILL(T, _) template void fill<T>(T*, const StridedLayout&, T, int64_t);
KILN_FOR_EACH_ELEMENT_TYPE(KILN_INSTANTIATE_FILL, _)

}  // namespace kiln::kernels::cpu
