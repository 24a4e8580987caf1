#include "core/ops/softmax.h"

#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/ops/common.h"
#include "kernels/softmax.h"

#ifdef KILN_CUDA
#include "core/cuda/runtime.h"
#include "kernels/cuda/softmax.h"
#endif

namespace kiln {
namespace {

Tensor softmax_op(const Tensor& x, bool causal, bool log) {
  const std::string_view op = log ? "log_softmax" : "softmax";
  KILN_CHECK(x.defined(), op, "input is an undefined tensor");
  check_floating(op, "input", x);
  KILN_CHECK(x.dim() >= 1, op, "input is a scalar, expected at least 1 dim");
  KILN_CHECK(!causal || x.dim() >= 2, op,
             "causal masking needs an input [..., Tq, Tk], got shape {}", shape_str(x.shape()));

  const Tensor xc = x.detach().contiguous();
  const int64_t cols = x.size(-1);
  const int64_t rows = shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));
  const int64_t tq = causal ? x.size(-2) : 1;
  Tensor out = empty(x.shape(), TensorOptions{x.dtype(), x.device()});
  if (x.device().is_cuda()) {
#ifdef KILN_CUDA
    const cudaStream_t stream = cuda::launch_stream(x.device().index);
    visit_cuda_float(x.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      if (log) {
        kernels::cuda::log_softmax_forward(xc.data<T>(), out.data<T>(), rows, cols, causal, tq,
                                           stream);
      } else {
        kernels::cuda::softmax_forward(xc.data<T>(), out.data<T>(), rows, cols, causal, tq, stream);
      }
    });
#endif
  } else {
    visit_float(x.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      if (log)
        kernels::cpu::log_softmax_forward(xc.data<T>(), out.data<T>(), rows, cols, causal, tq);
      else
        kernels::cpu::softmax_forward(xc.data<T>(), out.data<T>(), rows, cols, causal, tq);
    });
  }
  record(std::string(op), out, {x},
         [y = out.detach(), rows, cols, causal, tq, log](
             const Tensor& g, const std::vector<bool>&) -> std::vector<Tensor> {
           const Tensor gc = g.contiguous();
           Tensor dx = empty(y.shape(), TensorOptions{y.dtype(), y.device()});
           const std::string_view name = log ? "log_softmax" : "softmax";
           if (y.device().is_cuda()) {
#ifdef KILN_CUDA
             const cudaStream_t stream = cuda::launch_stream(y.device().index);
             visit_cuda_float(y.dtype(), name, [&](auto tag) {
               using T = decltype(tag);
               if (log) {
                 kernels::cuda::log_softmax_backward(y.data<T>(), gc.data<T>(), dx.data<T>(), rows,
                                                     cols, causal, tq, stream);
               } else {
                 kernels::cuda::softmax_backward(y.data<T>(), gc.data<T>(), dx.data<T>(), rows,
                                                 cols, causal, tq, stream);
               }
             });
#endif
           } else {
             visit_float(y.dtype(), name, [&](auto tag) {
               using T = decltype(tag);
               if (log) {
                 kernels::cpu::log_softmax_backward(y.data<T>(), gc.data<T>(), dx.data<T>(), rows,
                                                    cols, causal, tq);
               } else {
                 kernels::cpu::softmax_backward(y.data<T>(), gc.data<T>(), dx.data<T>(), rows, cols,
                                                causal, tq);
               }
             });
           }
           return {dx};
         });
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
