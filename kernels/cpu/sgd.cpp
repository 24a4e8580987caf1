#include "kernels/sgd.h"

namespace kiln::kernels::cpu {
namespace {

constexpr int64_t kParallelWork = 1 << 15;

}  // namespace

template <typename T>
void sgd_step(T* param, const T* grad, T* momentum_buffer, int64_t n, const SGDScalars& s) {
  const T lr = static_cast<T>(s.lr);
  const T momentum = static_cast<T>(s.momentum);
  const T weight_decay = static_cast<T>(s.weight_decay);
  const bool use_momentum = s.momentum != 0;
#pragma omp parallel for if (n > kParallelWork) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    T d = grad[i];
    if (s.weight_decay != 0) d += weight_decay * param[i];
    if (use_momentum) {
      const T buf = momentum * momentum_buffer[i] + d;
      momentum_buffer[i] = buf;
      d = s.nesterov ? d + momentum * buf : buf;
    }
    param[i] -= lr * d;
  }
}

template void sgd_step<float>(float*, const float*, float*, int64_t, const SGDScalars&);
template void sgd_step<double>(double*, const double*, double*, int64_t, const SGDScalars&);

}  // namespace kiln::kernels::cpu
