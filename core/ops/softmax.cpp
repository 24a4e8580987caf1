#include "core/ops/softmax.h"

#include "core/autograd.h"
#include "core/backend/on_device.h"
#include "core/backend/softmax.h"
#include "core/ops/common.h"

namespace kiln {
namespace {

using backend::SoftmaxBackend;

// What the backward keeps: the output (both gradients are functions of it) and the row layout.
struct SoftmaxSaved {
  Tensor y;
  int64_t rows = 0, cols = 0, tq = 1;
  bool causal = false, log = false;
};

std::string_view op_name(bool log) {
  return log ? "log_softmax" : "softmax";
}

std::vector<Tensor> softmax_backward(const SoftmaxSaved& s, const Tensor& grad) {
  const Tensor dx = empty(s.y.shape(), TensorOptions{s.y.dtype(), s.y.device()});
  on_device(op_name(s.log), s.y.device(), &SoftmaxBackend::backward, s.y, grad.contiguous(), dx,
            s.rows, s.cols, s.causal, s.tq, s.log);
  return {dx};
}

Tensor softmax_op(const Tensor& x, bool causal, bool log) {
  const std::string_view op = op_name(log);
  KILN_CHECK(x.defined(), op, "input is an undefined tensor");
  check_floating(op, "input", x);
  KILN_CHECK(x.dim() >= 1, op, "input is a scalar, expected at least 1 dim");
  KILN_CHECK(!causal || x.dim() >= 2, op,
             "causal masking needs an input [..., Tq, Tk], got shape {}", shape_str(x.shape()));

  const int64_t cols = x.size(-1);
  const int64_t rows = shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));
  const int64_t tq = causal ? x.size(-2) : 1;
  Tensor out = empty(x.shape(), TensorOptions{x.dtype(), x.device()});
  on_device(op, x.device(), &SoftmaxBackend::forward, x.detach().contiguous(), out, rows, cols,
            causal, tq, log);
  record(std::string(op), out, {x},
         [saved = SoftmaxSaved{out.detach(), rows, cols, tq, causal, log}](
             const Tensor& g, const std::vector<bool>&) { return softmax_backward(saved, g); });
  return out;
}

}  // namespace

Tensor softmax(const Tensor& x, bool causal) {
  return softmax_op(x, causal, false);
}

Tensor log_softmax(const Tensor& x, bool causal) {
  return softmax_op(x, causal, true);
}

}  // namespace kiln
