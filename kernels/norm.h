#pragma once
// Fused layer norm and RMS norm over the last dim of a contiguous [rows, cols] array.
// The forward saves per-row statistics (mean and 1/std, or 1/rms) for the backward, which
// recomputes the normalised input instead of storing it. weight and bias may be null (absent);
// so may each gradient output that is not wanted. The weight and bias gradients are sums over
// rows taken in a fixed order, so they do not depend on the thread count.
#include <cstdint>

namespace kiln::kernels::cpu {

// y = (x - mean) · rstd · weight + bias with rstd = 1 / sqrt(var + eps), var the biased variance.
template <typename T>
void layer_norm_forward(const T* x, const T* weight, const T* bias, T* y, T* mean, T* rstd,
                        int64_t rows, int64_t cols, double eps);
template <typename T>
void layer_norm_backward(const T* x, const T* weight, const T* mean, const T* rstd, const T* g,
                         T* dx, T* dweight, T* dbias, int64_t rows, int64_t cols);

// y = x · rstd · weight with rstd = 1 / sqrt(mean(x²) + eps).
template <typename T>
void rms_norm_forward(const T* x, const T* weight, T* y, T* rstd, int64_t rows, int64_t cols,
                      double eps);
template <typename T>
void rms_norm_backward(const T* x, const T* weight, const T* rstd, const T* g, T* dx, T* dweight,
                       int64_t rows, int64_t cols);

}  // namespace kiln::kernels::cpu
