#include "core/ops/norm.h"

#include "core/autograd.h"
#include "core/backend/norm.h"
#include "core/backend/on_device.h"
#include "core/ops/common.h"

namespace kiln {
namespace {

using backend::NormBackend;

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

// What the backward of layer_norm / rms_norm keeps: the contiguous input and weight, and the
// per-row statistics (mean is undefined for rms_norm).
struct NormSaved {
  Tensor x, weight, mean, rstd;
  int64_t rows = 0, cols = 0;
};

NormSaved save_input(const Tensor& x, const Tensor& weight) {
  const int64_t rows = shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));
  return {x.detach().contiguous(),
          contiguous_or_undefined(weight),
          Tensor(),
          Tensor(),
          rows,
          x.size(-1)};
}

std::vector<Tensor> layer_norm_backward(const NormSaved& s, const Tensor& grad,
                                        const std::vector<bool>& needs) {
  const Tensor dx = empty_if(needs[0], s.x.shape(), s.x);
  const Tensor dw = empty_if(needs[1], {s.cols}, s.x);
  const Tensor db = empty_if(needs[2], {s.cols}, s.x);
  on_device("layer_norm", s.x.device(), &NormBackend::layer_norm_backward, s.x, s.weight, s.mean,
            s.rstd, grad.contiguous(), dx, dw, db, s.rows, s.cols);
  return {dx, dw, db};
}

std::vector<Tensor> rms_norm_backward(const NormSaved& s, const Tensor& grad,
                                      const std::vector<bool>& needs) {
  const Tensor dx = empty_if(needs[0], s.x.shape(), s.x);
  const Tensor dw = empty_if(needs[1], {s.cols}, s.x);
  on_device("rms_norm", s.x.device(), &NormBackend::rms_norm_backward, s.x, s.weight, s.rstd,
            grad.contiguous(), dx, dw, s.rows, s.cols);
  return {dx, dw};
}

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

  NormSaved saved = save_input(x, w);
  saved.mean = empty({saved.rows}, stats_options(x));
  saved.rstd = empty({saved.rows}, stats_options(x));
  Tensor y = empty(x.shape(), TensorOptions{x.dtype(), x.device()});
  on_device(op, x.device(), &NormBackend::layer_norm_forward, saved.x, saved.weight,
            contiguous_or_undefined(b), y, saved.mean, saved.rstd, saved.rows, saved.cols, eps);
  record("layer_norm", y, {x, w, b}, [saved](const Tensor& g, const std::vector<bool>& needs) {
    return layer_norm_backward(saved, g, needs);
  });
  return y;
}

Tensor rms_norm(const Tensor& x, const std::optional<Tensor>& weight, double eps) {
  constexpr std::string_view op = "rms_norm";
  check_input(op, x, eps);
  const Tensor w = weight.value_or(Tensor());
  check_param(op, "weight", w, x);
  check_same_device(op, {x, w});

  NormSaved saved = save_input(x, w);
  saved.rstd = empty({saved.rows}, stats_options(x));
  Tensor y = empty(x.shape(), TensorOptions{x.dtype(), x.device()});
  on_device(op, x.device(), &NormBackend::rms_norm_forward, saved.x, saved.weight, y, saved.rstd,
            saved.rows, saved.cols, eps);
  record("rms_norm", y, {x, w}, [saved](const Tensor& g, const std::vector<bool>& needs) {
    return rms_norm_backward(saved, g, needs);
  });
  return y;
}

}  // namespace kiln
