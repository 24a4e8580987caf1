#include "kernels/dropout.h"

#include "kernels/cpu/parallel.h"
#include "kernels/philox.h"

namespace kiln::kernels::cpu {
namespace {

// A Philox draw per element is several times the work of an add: threads pay off sooner.
constexpr int64_t kDropoutParallelWork = kParallelWork / 2;

}  // namespace

template <typename T>
void dropout_forward(const T* x, const StridedLayout& x_layout, T* out, uint8_t* mask, int64_t n,
                     float p, T scale, uint64_t seed, uint64_t offset) {
  const bool contiguous = x_layout.is_contiguous();
#pragma omp parallel for if (n > kDropoutParallelWork) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t bits = philox4x32(seed, offset + static_cast<uint64_t>(i)).v[0];
    const bool keep = uniform_from_bits(bits) >= p;
    mask[i] = keep ? 1 : 0;
    out[i] = keep ? x[contiguous ? i : x_layout.offset_of(i)] * scale : T(0);
  }
}

template <typename T>
void dropout_backward(const T* grad, const uint8_t* mask, T* grad_in, int64_t n, T scale) {
#pragma omp parallel for if (n > kDropoutParallelWork) schedule(static)
  for (int64_t i = 0; i < n; ++i) grad_in[i] = mask[i] != 0 ? grad[i] * scale : T(0);
}

template void dropout_forward<float>(const float*, const StridedLayout&, float*, uint8_t*, int64_t,
                                     float, float, uint64_t, uint64_t);
template void dropout_forward<double>(const double*, const StridedLayout&, double*, uint8_t*,
                                      int64_t, float, double, uint64_t, uint64_t);
template void dropout_backward<float>(const float*, const uint8_t*, float*, int64_t, float);
template void dropout_backward<double>(const double*, const uint8_t*, double*, int64_t, double);

}  // namespace kiln::kernels::cpu
