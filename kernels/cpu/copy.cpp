#include "kernels/copy.h"

#include <cstring>
#include <type_traits>

#include "kernels/cpu/convert.h"

namespace kiln::kernels::cpu {

template <typename Src, typename Dst>
void copy_strided(const Src* src, const StridedLayout& src_layout, Dst* dst,
                  const StridedLayout& dst_layout, int64_t n) {
  const bool src_contiguous = src_layout.is_contiguous();
  const bool dst_contiguous = dst_layout.is_contiguous();
  if constexpr (std::is_same_v<Src, Dst>) {
    if (src_contiguous && dst_contiguous) {
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(Src));
      return;
    }
  }
#pragma omp parallel for if (n > (1 << 16)) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const int64_t s = src_contiguous ? i : src_layout.offset_of(i);
    const int64_t d = dst_contiguous ? i : dst_layout.offset_of(i);
    dst[d] = convert<Dst>(src[s]);
  }
}

template <typename T>
void fill(T* dst, const StridedLayout& layout, T value, int64_t n) {
  const bool contiguous = layout.is_contiguous();
#pragma omp parallel for if (n > (1 << 16)) schedule(static)
  for (int64_t i = 0; i < n; ++i) dst[contiguous ? i : layout.offset_of(i)] = value;
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

#define KILN_INSTANTIATE_COPY(Dst, Src)                                                    \
  template void copy_strided<Src, Dst>(const Src*, const StridedLayout&, Dst*,             \
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
