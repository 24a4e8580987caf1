#include "kernels/random.h"

#include <cmath>
#include <numbers>

#include "kernels/philox.h"

namespace kiln::kernels::cpu {

template <typename T>
void uniform(T* out, int64_t n, uint64_t seed, uint64_t offset, double low, double high) {
#pragma omp parallel for if (n > (1 << 16)) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const PhiloxOutput r = philox4x32(seed, offset + static_cast<uint64_t>(i));
    if constexpr (std::is_same_v<T, double>) {
      out[i] = low + (high - low) * uniform_from_bits(r.v[0], r.v[1]);
    } else {
      out[i] = static_cast<T>(static_cast<float>(low) +
                              static_cast<float>(high - low) * uniform_from_bits(r.v[0]));
    }
  }
}

template <typename T>
void normal(T* out, int64_t n, uint64_t seed, uint64_t offset, double mean, double std) {
#pragma omp parallel for if (n > (1 << 16)) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const PhiloxOutput r = philox4x32(seed, offset + static_cast<uint64_t>(i));
    // Box-Muller; 1 - u keeps the log argument in (0, 1].
    const double u1 = 1.0 - uniform_from_bits(r.v[0], r.v[1]);
    const double u2 = uniform_from_bits(r.v[2], r.v[3]);
    const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
    out[i] = static_cast<T>(mean + std * z);
  }
}

template <typename T>
void randint(T* out, int64_t n, uint64_t seed, uint64_t offset, int64_t low, int64_t high) {
  const uint64_t range = static_cast<uint64_t>(high - low);
#pragma omp parallel for if (n > (1 << 16)) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const PhiloxOutput r = philox4x32(seed, offset + static_cast<uint64_t>(i));
    const uint64_t bits = (static_cast<uint64_t>(r.v[0]) << 32) | r.v[1];
    out[i] = static_cast<T>(low + static_cast<int64_t>(bits % range));
  }
}

template void uniform<float>(float*, int64_t, uint64_t, uint64_t, double, double);
template void uniform<double>(double*, int64_t, uint64_t, uint64_t, double, double);
template void normal<float>(float*, int64_t, uint64_t, uint64_t, double, double);
template void normal<double>(double*, int64_t, uint64_t, uint64_t, double, double);
template void randint<int32_t>(int32_t*, int64_t, uint64_t, uint64_t, int64_t, int64_t);
template void randint<int64_t>(int64_t*, int64_t, uint64_t, uint64_t, int64_t, int64_t);

}  // namespace kiln::kernels::cpu
