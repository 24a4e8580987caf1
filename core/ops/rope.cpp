#include "core/ops/rope.h"

#include <cmath>

#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/ops/common.h"
#include "kernels/rope.h"

#ifdef KILN_CUDA
#include "core/cuda/runtime.h"
#include "kernels/cuda/rope.h"
#endif

namespace kiln {
namespace {

constexpr std::string_view kOp = "rope";

struct RopeShape {
  int64_t outer, time, inner, dim;
};

RopeShape check_rope(const Tensor& x, const Tensor& cos, const Tensor& sin, int64_t start,
                     int64_t time_dim) {
  KILN_CHECK(x.defined() && cos.defined() && sin.defined(), kOp, "an input is undefined");
  check_floating(kOp, "input", x);
  check_floating(kOp, "cos", cos);
  check_floating(kOp, "sin", sin);
  KILN_CHECK(x.dim() >= 2, kOp, "input has shape {}, expected [..., time, ..., head_dim]",
             shape_str(x.shape()));
  const int64_t t_dim = wrap_dim(time_dim, x.dim(), kOp);
  KILN_CHECK(t_dim < x.dim() - 1, kOp, "time_dim {} is the head dim of input {}", time_dim,
             shape_str(x.shape()));
  const int64_t dim = x.size(-1);
  KILN_CHECK(dim % 2 == 0, kOp, "head dim {} of input {} is odd, expected an even size", dim,
             shape_str(x.shape()));
  const int64_t time = x.size(t_dim);
  KILN_CHECK(start >= 0, kOp, "start {} is negative", start);
  for (const Tensor* t : {&cos, &sin})
    KILN_CHECK(t->dim() == 2 && t->size(1) == dim / 2 && t->size(0) >= start + time, kOp,
               "{} has shape {}, expected [>= {}, {}] (positions {}..{} of head dim {})",
               t == &cos ? "cos" : "sin", shape_str(t->shape()), start + time, dim / 2, start,
               start + time - 1, dim);
  check_same_device(kOp, {x, cos, sin});
  RopeShape s{1, time, 1, dim};
  for (int64_t d = 0; d < t_dim; ++d) s.outer *= x.size(d);
  for (int64_t d = t_dim + 1; d < x.dim() - 1; ++d) s.inner *= x.size(d);
  return s;
}

// The rotation by +θ or -θ, as one kernel launch on the tensors' device.
Tensor rotate(const Tensor& x, const Tensor& cos, const Tensor& sin, int64_t start,
              int64_t time_dim, bool inverse) {
  const RopeShape s = check_rope(x, cos, sin, start, time_dim);
  const Tensor xc = x.detach().contiguous();
  Tensor y = empty(x.shape(), TensorOptions{x.dtype(), x.device()});
  if (x.device().is_cuda()) {
#ifdef KILN_CUDA
    const Tensor c = cos.detach().to(DType::f32).contiguous();
    const Tensor sn = sin.detach().to(DType::f32).contiguous();
    visit_cuda_float(x.dtype(), kOp, [&](auto tag) {
      using T = decltype(tag);
      kernels::cuda::rope(xc.data<T>(), c.data<float>(), sn.data<float>(), y.data<T>(), s.outer,
                          s.time, s.inner, s.dim, start, inverse,
                          cuda::launch_stream(x.device().index));
    });
#else
    fail(kOp, "kiln was built without CUDA (rebuild with KILN_CUDA=ON)");
#endif
  } else {
    visit_float(x.dtype(), kOp, [&](auto tag) {
      using T = decltype(tag);
      const Tensor c = cos.detach().to(x.dtype()).contiguous();
      const Tensor sn = sin.detach().to(x.dtype()).contiguous();
      kernels::cpu::rope(xc.data<T>(), c.data<T>(), sn.data<T>(), y.data<T>(), s.outer, s.time,
                         s.inner, s.dim, start, inverse);
    });
  }
  return y;
}

}  // namespace

Tensor rope_inverse(const Tensor& g, const Tensor& cos, const Tensor& sin, int64_t start,
                    int64_t time_dim) {
  return rotate(g, cos, sin, start, time_dim, /*inverse=*/true);
}

Tensor rope(const Tensor& x, const Tensor& cos, const Tensor& sin, int64_t start,
            int64_t time_dim) {
  Tensor y = rotate(x, cos, sin, start, time_dim, /*inverse=*/false);
  const Tensor c = cos.detach();
  const Tensor s = sin.detach();
  record("rope", y, {x},
         [c, s, start, time_dim](const Tensor& g, const std::vector<bool>&) -> std::vector<Tensor> {
           return {rope_inverse(g, c, s, start, time_dim)};
         });
  return y;
}

std::pair<Tensor, Tensor> rope_tables(const std::vector<double>& inv_freq, int64_t positions,
                                      Device device) {
  KILN_CHECK(positions >= 0, kOp, "table of {} positions, expected >= 0", positions);
  const int64_t half = static_cast<int64_t>(inv_freq.size());
  std::vector<float> cos(static_cast<size_t>(positions * half));
  std::vector<float> sin(cos.size());
  for (int64_t p = 0; p < positions; ++p)
    for (int64_t i = 0; i < half; ++i) {
      const double angle = static_cast<double>(p) * inv_freq[static_cast<size_t>(i)];
      cos[static_cast<size_t>(p * half + i)] = static_cast<float>(std::cos(angle));
      sin[static_cast<size_t>(p * half + i)] = static_cast<float>(std::sin(angle));
    }
  return {from_vector(cos, {positions, half}, device), from_vector(sin, {positions, half}, device)};
}

}  // namespace kiln
