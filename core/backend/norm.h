#pragma once
// layer_norm and rms_norm on each device (see core/backend/on_device.h). x [rows, cols] and the
// outputs are contiguous; weight/bias [cols] are contiguous or undefined (absent), as are the
// gradients not wanted. The saved mean/rstd [rows] are f32 on CUDA, x's dtype on the CPU.
#include <cstdint>
#include <string_view>

#include "core/tensor.h"

namespace kiln::backend {

struct NormBackend {
  void (*layer_norm_forward)(std::string_view op, const Tensor& x, const Tensor& weight,
                             const Tensor& bias, const Tensor& y, const Tensor& mean,
                             const Tensor& rstd, int64_t rows, int64_t cols, double eps);
  void (*layer_norm_backward)(std::string_view op, const Tensor& x, const Tensor& weight,
                              const Tensor& mean, const Tensor& rstd, const Tensor& grad,
                              const Tensor& dx, const Tensor& dweight, const Tensor& dbias,
                              int64_t rows, int64_t cols);
  void (*rms_norm_forward)(std::string_view op, const Tensor& x, const Tensor& weight,
                           const Tensor& y, const Tensor& rstd, int64_t rows, int64_t cols,
                           double eps);
  void (*rms_norm_backward)(std::string_view op, const Tensor& x, const Tensor& weight,
                            const Tensor& rstd, const Tensor& grad, const Tensor& dx,
                            const Tensor& dweight, int64_t rows, int64_t cols);

  static const NormBackend& cpu();
  static const NormBackend& cuda();
};

}  // namespace kiln::backend
