#include "core/backend/norm.h"

#include "core/dispatch.h"
#include "kernels/norm.h"

namespace kiln::backend {
namespace {

void layer_norm_forward(std::string_view op, const Tensor& x, const Tensor& weight,
                        const Tensor& bias, const Tensor& y, const Tensor& mean, const Tensor& rstd,
                        int64_t rows, int64_t cols, double eps) {
  visit_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::layer_norm_forward(x.data<T>(), data_or_null<T>(weight), data_or_null<T>(bias),
                                     y.data<T>(), mean.data<T>(), rstd.data<T>(), rows, cols, eps);
  });
}

void layer_norm_backward(std::string_view op, const Tensor& x, const Tensor& weight,
                         const Tensor& mean, const Tensor& rstd, const Tensor& grad,
                         const Tensor& dx, const Tensor& dweight, const Tensor& dbias, int64_t rows,
                         int64_t cols) {
  visit_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::layer_norm_backward(x.data<T>(), data_or_null<T>(weight), mean.data<T>(),
                                      rstd.data<T>(), grad.data<T>(), data_or_null<T>(dx),
                                      data_or_null<T>(dweight), data_or_null<T>(dbias), rows, cols);
  });
}

void rms_norm_forward(std::string_view op, const Tensor& x, const Tensor& weight, const Tensor& y,
                      const Tensor& rstd, int64_t rows, int64_t cols, double eps) {
  visit_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::rms_norm_forward(x.data<T>(), data_or_null<T>(weight), y.data<T>(),
                                   rstd.data<T>(), rows, cols, eps);
  });
}

void rms_norm_backward(std::string_view op, const Tensor& x, const Tensor& weight,
                       const Tensor& rstd, const Tensor& grad, const Tensor& dx,
                       const Tensor& dweight, int64_t rows, int64_t cols) {
  visit_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::rms_norm_backward(x.data<T>(), data_or_null<T>(weight), rstd.data<T>(),
                                    grad.data<T>(), data_or_null<T>(dx), data_or_null<T>(dweight),
                                    rows, cols);
  });
}

constexpr NormBackend kTable{layer_norm_forward, layer_norm_backward, rms_norm_forward,
                             rms_norm_backward};

}  // namespace

const NormBackend& NormBackend::cpu() {
  return kTable;
}

}  // namespace kiln::backend
