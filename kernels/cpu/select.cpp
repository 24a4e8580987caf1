#include "kernels/select.h"

#include "kernels/cpu/parallel.h"

namespace kiln::kernels::cpu {
namespace {

template <typename M>
bool is_set(const M* mask, const StridedLayout& layout, int64_t i) {
  return mask[layout.offset_of(i)] != M(0);
}

}  // namespace

template <typename T, typename M>
void where(const M* cond, const StridedLayout& cond_layout, const T* a,
           const StridedLayout& a_layout, const T* b, const StridedLayout& b_layout, T* out,
           int64_t n) {
#pragma omp parallel for if (n > kParallelWork) schedule(static)
  for (int64_t i = 0; i < n; ++i)
    out[i] = is_set(cond, cond_layout, i) ? a[a_layout.offset_of(i)] : b[b_layout.offset_of(i)];
}

template <typename T, typename M>
void masked_fill(const T* x, const StridedLayout& x_layout, const M* mask,
                 const StridedLayout& mask_layout, T value, T* out, int64_t n) {
#pragma omp parallel for if (n > kParallelWork) schedule(static)
  for (int64_t i = 0; i < n; ++i)
    out[i] = is_set(mask, mask_layout, i) ? value : x[x_layout.offset_of(i)];
}

template <typename T, typename M>
void where_backward(const M* cond, const StridedLayout& cond_layout, const T* grad, T* grad_true,
                    T* grad_false, int64_t n) {
#pragma omp parallel for if (n > kParallelWork) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const bool set = is_set(cond, cond_layout, i);
    if (grad_true != nullptr) grad_true[i] = set ? grad[i] : T(0);
    if (grad_false != nullptr) grad_false[i] = set ? T(0) : grad[i];
  }
}

#define KILN_INSTANTIATE_SELECT(T, M)                                                             \
  template void where<T, M>(const M*, const StridedLayout&, const T*, const StridedLayout&,       \
                            const T*, const StridedLayout&, T*, int64_t);                         \
  template void masked_fill<T, M>(const T*, const StridedLayout&, const M*, const StridedLayout&, \
                                  T, T*, int64_t);                                                \
  template void where_backward<T, M>(const M*, const StridedLayout&, const T*, T*, T*, int64_t);
KILN_INSTANTIATE_SELECT(float, bool)
KILN_INSTANTIATE_SELECT(float, uint8_t)
KILN_INSTANTIATE_SELECT(double, bool)
KILN_INSTANTIATE_SELECT(double, uint8_t)

}  // namespace kiln::kernels::cpu
