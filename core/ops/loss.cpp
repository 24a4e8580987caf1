#include "core/ops/loss.h"

#include <memory>

#include "core/autograd.h"
#include "core/backend/loss.h"
#include "core/backend/on_device.h"
#include "core/dispatch.h"
#include "core/ops/common.h"

namespace kiln {
namespace {

using backend::CrossEntropyState;
using backend::LossBackend;

// Every target in [0, cols) or equal to ignore_index; `targets` is contiguous on the CPU.
void check_targets(std::string_view op, const Tensor& targets, int64_t cols, int64_t ignore_index) {
  visit_index(targets.dtype(), op, [&](auto index_tag) {
    using I = decltype(index_tag);
    const I* t = targets.data<I>();
    for (int64_t r = 0; r < targets.numel(); ++r) {
      const auto value = static_cast<int64_t>(t[r]);
      KILN_CHECK(value == ignore_index || (value >= 0 && value < cols), op,
                 "target {} at position {} is out of range [0, {}) and is not ignore_index ({})",
                 value, r, cols, ignore_index);
    }
  });
}

// What the backward keeps. `pending` is the gradient a CUDA forward wrote for an upstream
// gradient of 1: the backward hands it over the first time it runs with g = 1 (what
// loss.backward() does); for another g (a scaled loss, gradient accumulation) or a second
// backward through the same graph it recomputes the gradient from the saved lse, in one pass.
struct CrossEntropySaved {
  Tensor logits, targets;
  int64_t ignore_index = 0;
  CrossEntropyState state;
  std::shared_ptr<Tensor> pending;
};

std::vector<Tensor> cross_entropy_backward(const CrossEntropySaved& s, const Tensor& grad) {
  const double scale = grad.item();
  Tensor dlogits = *s.pending;
  *s.pending = Tensor();
  if (dlogits.defined() && scale == 1.0) return {dlogits, Tensor()};
  if (!dlogits.defined())
    dlogits = empty(s.logits.shape(), TensorOptions{s.logits.dtype(), s.logits.device()});
  on_device("cross_entropy", s.logits.device(), &LossBackend::cross_entropy_backward, s.logits,
            s.targets, s.ignore_index, s.state, scale, dlogits);
  return {dlogits, Tensor()};
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index) {
  constexpr std::string_view op = "cross_entropy";
  KILN_CHECK(logits.defined() && targets.defined(), op, "logits or targets undefined");
  check_floating(op, "logits", logits);
  KILN_CHECK(targets.dtype() == DType::i32 || targets.dtype() == DType::i64, op,
             "targets have dtype {}, expected i32 or i64", dtype_name(targets.dtype()));
  KILN_CHECK(logits.dim() >= 1, op, "logits are a scalar, expected [..., classes]");
  const Shape rows_shape(logits.shape().begin(), logits.shape().end() - 1);
  KILN_CHECK(targets.shape() == rows_shape, op,
             "targets have shape {}, expected {} (logits {} without the class dim)",
             shape_str(targets.shape()), shape_str(rows_shape), shape_str(logits.shape()));
  check_same_device(op, {logits, targets});
  // The CPU kernels compute in f32 or f64; 16-bit logits go through an f32 copy, which makes
  // the loss f32 as on CUDA and brings the gradient back in the logits' dtype.
  if (logits.device().is_cpu() && (logits.dtype() == DType::bf16 || logits.dtype() == DType::f16))
    return cross_entropy(logits.to(DType::f32), targets, ignore_index);

  CrossEntropySaved saved{
      logits.detach().contiguous(), targets.contiguous(), ignore_index, {}, nullptr};
  // CUDA targets come back to the host for the range check (rows integers): a wrong target is
  // the same clear error as on the CPU, at the cost of one small synchronising copy.
  check_targets(op,
                saved.targets.device().is_cuda() ? saved.targets.to(Device::cpu()) : saved.targets,
                logits.size(-1), ignore_index);
  Tensor loss = on_device(op, logits.device(), &LossBackend::cross_entropy_forward, saved.logits,
                          saved.targets, ignore_index, any_requires_grad({logits}), saved.state);
  saved.pending = std::make_shared<Tensor>(std::move(saved.state.dlogits));
  saved.state.dlogits = Tensor();
  record("cross_entropy", loss, {logits, targets},
         [saved](const Tensor& g, const std::vector<bool>&) {
           return cross_entropy_backward(saved, g);
         });
  return loss;
}

}  // namespace kiln
