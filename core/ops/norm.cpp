#include "core/ops/norm.h"

#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/ops/common.h"
#include "kernels/norm.h"

#ifdef KILN_CUDA
#include "core/cuda/runtime.h"
#include "kernels/cuda/norm.h"
#endif

namespace kiln {
namespace {

// A weight or bias: [C] for an input [..., C], of the input's dtype.
void check_param(std::string_view op, std::string_view what, const Tensor& p, const Tensor& x) {
  if (!p.defined()) return;
  check_same_dtype(op, what, p, x);
  KILN_CHECK(p.shape() == Shape{x.size(-1)}, op,
             "{} has shape {}, expected [{}] (last dim of input {})", what, shape_str(p.shape()),
             x.size(-1), shape_str(x.shape()));
}

void check_input(std::string_view op, const Tensor& x, double eps) {
  KILN_CHECK(x.defined(), op, "input is an undefined tensor");
  check_floating(op, "input", x);
  KILN_CHECK(x.dim() >= 1, op, "input is a scalar, expected at least 1 dim");
  KILN_CHECK(eps >= 0.0, op, "eps is {}, expected a non-negative value", eps);
}

template <typename T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// The kernels read parameters as plain arrays; a detached copy records nothing.
Tensor contiguous_or_undefined(const Tensor& t) {
  return t.defined() ? t.detach().contiguous() : Tensor();
}

Tensor empty_if(bool wanted, const Shape& shape, const Tensor& like) {
  return wanted ? empty(shape, TensorOptions{like.dtype(), like.device()}) : Tensor();
}

// The saved mean/rstd: f32 on CUDA whatever the input's dtype (a bf16 rstd would cost the
// backward precision for nothing: it is one value per row), the input's dtype on the CPU,
// whose kernels compute in it.
TensorOptions stats_options(const Tensor& x) {
  return {x.device().is_cuda() ? DType::f32 : x.dtype(), x.device()};
}

#ifdef KILN_CUDA
// The f32 scratch through which the CUDA backward reduces the weight/bias gradients.
Tensor norm_workspace(int64_t rows, int64_t cols, int parameter_grads, Device device) {
  const int64_t n = kernels::cuda::norm_backward_workspace(rows, cols, parameter_grads);
  return n > 0 ? empty({n}, TensorOptions{DType::f32, device}) : Tensor();
}
#endif

}  // namespace

Tensor layer_norm(const Tensor& x, const std::optional<Tensor>& weight,
                  const std::optional<Tensor>& bias, double eps) {
  constexpr std::string_view op = "layer_norm";
  check_input(op, x, eps);
  const Tensor w = weight.value_or(Tensor());
  const Tensor b = bias.value_or(Tensor());
  check_param(op, "weight", w, x);
  check_param(op, "bias", b, x);
  check_same_device(op, {x, w, b});

  const Tensor xc = x.detach().contiguous();
  const Tensor wc = contiguous_or_undefined(w);
  const Tensor bc = contiguous_or_undefined(b);
  const int64_t cols = x.size(-1);
  const int64_t rows = shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));
  const TensorOptions options{x.dtype(), x.device()};
  Tensor y = empty(x.shape(), options);
  const Tensor mean = empty({rows}, stats_options(x));
  const Tensor rstd = empty({rows}, stats_options(x));
  if (x.device().is_cuda()) {
#ifdef KILN_CUDA
    visit_cuda_float(x.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      kernels::cuda::layer_norm_forward(xc.data<T>(), data_or_null<T>(wc), data_or_null<T>(bc),
                                        y.data<T>(), mean.data<float>(), rstd.data<float>(), rows,
                                        cols, eps, cuda::launch_stream(x.device().index));
    });
#endif
  } else {
    visit_float(x.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::layer_norm_forward(xc.data<T>(), data_or_null<T>(wc), data_or_null<T>(bc),
                                       y.data<T>(), mean.data<T>(), rstd.data<T>(), rows, cols,
                                       eps);
    });
  }
  record("layer_norm", y, {x, w, b},
         [xc, wc, mean, rstd, rows, cols](const Tensor& g,
                                          const std::vector<bool>& needs) -> std::vector<Tensor> {
           const Tensor gc = g.contiguous();
           Tensor dx = empty_if(needs[0], xc.shape(), xc);
           Tensor dw = empty_if(needs[1], {cols}, xc);
           Tensor db = empty_if(needs[2], {cols}, xc);
           if (xc.device().is_cuda()) {
#ifdef KILN_CUDA
             const cudaStream_t stream = cuda::launch_stream(xc.device().index);
             const Tensor workspace = norm_workspace(
                 rows, cols, static_cast<int>(needs[1]) + static_cast<int>(needs[2]), xc.device());
             visit_cuda_float(xc.dtype(), "layer_norm", [&](auto tag) {
               using T = decltype(tag);
               kernels::cuda::layer_norm_backward(
                   xc.data<T>(), data_or_null<T>(wc), mean.data<float>(), rstd.data<float>(),
                   gc.data<T>(), data_or_null<T>(dx), data_or_null<T>(dw), data_or_null<T>(db),
                   data_or_null<float>(workspace), rows, cols, stream);
             });
#endif
           } else {
             visit_float(xc.dtype(), "layer_norm", [&](auto tag) {
               using T = decltype(tag);
               kernels::cpu::layer_norm_backward(
                   xc.data<T>(), data_or_null<T>(wc), mean.data<T>(), rstd.data<T>(), gc.data<T>(),
                   data_or_null<T>(dx), data_or_null<T>(dw), data_or_null<T>(db), rows, cols);
             });
           }
           return {dx, dw, db};
         });
  return y;
}

Tensor rms_norm(const Tensor& x, const std::optional<Tensor>& weight, double eps) {
  constexpr std::string_view op = "rms_norm";
  check_input(op, x, eps);
  const Tensor w = weight.value_or(Tensor());
  check_param(op, "weight", w, x);
  check_same_device(op, {x, w});

  const Tensor xc = x.detach().contiguous();
  const Tensor wc = contiguous_or_undefined(w);
  const int64_t cols = x.size(-1);
  const int64_t rows = shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));
  const TensorOptions options{x.dtype(), x.device()};
  Tensor y = empty(x.shape(), options);
  const Tensor rstd = empty({rows}, stats_options(x));
  if (x.device().is_cuda()) {
#ifdef KILN_CUDA
    visit_cuda_float(x.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      kernels::cuda::rms_norm_forward(xc.data<T>(), data_or_null<T>(wc), y.data<T>(),
                                      rstd.data<float>(), rows, cols, eps,
                                      cuda::launch_stream(x.device().index));
    });
#endif
  } else {
    visit_float(x.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::rms_norm_forward(xc.data<T>(), data_or_null<T>(wc), y.data<T>(), rstd.data<T>(),
                                     rows, cols, eps);
    });
  }
  record("rms_norm", y, {x, w},
         [xc, wc, rstd, rows, cols](const Tensor& g,
                                    const std::vector<bool>& needs) -> std::vector<Tensor> {
           const Tensor gc = g.contiguous();
           Tensor dx = empty_if(needs[0], xc.shape(), xc);
           Tensor dw = empty_if(needs[1], {cols}, xc);
           if (xc.device().is_cuda()) {
#ifdef KILN_CUDA
             const cudaStream_t stream = cuda::launch_stream(xc.device().index);
             const Tensor workspace =
                 norm_workspace(rows, cols, static_cast<int>(needs[1]), xc.device());
             visit_cuda_float(xc.dtype(), "rms_norm", [&](auto tag) {
               using T = decltype(tag);
               kernels::cuda::rms_norm_backward(xc.data<T>(), data_or_null<T>(wc),
                                                rstd.data<float>(), gc.data<T>(),
                                                data_or_null<T>(dx), data_or_null<T>(dw),
                                                data_or_null<float>(workspace), rows, cols, stream);
             });
#endif
           } else {
             visit_float(xc.dtype(), "rms_norm", [&](auto tag) {
               using T = decltype(tag);
               kernels::cpu::rms_norm_backward(xc.data<T>(), data_or_null<T>(wc), rstd.data<T>(),
                                               gc.data<T>(), data_or_null<T>(dx),
                                               data_or_null<T>(dw), rows, cols);
             });
           }
           return {dx, dw};
         });
  return y;
}

}  // namespace kiln
