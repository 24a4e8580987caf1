#include "core/ops/loss.h"

#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/ops/common.h"
#include "kernels/loss.h"

#ifdef KILN_CUDA
#include "core/cuda/runtime.h"
#include "kernels/cuda/loss.h"
#endif

namespace kiln {
namespace {

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

#ifdef KILN_CUDA
// The fused CUDA path: the forward also writes the loss's gradient (for an upstream gradient
// of 1) when the logits need one, and everything but the upstream gradient stays on the
// device. The backward hands that gradient over the first time it runs with g = 1 (what
// loss.backward() does); for another g (a scaled loss, gradient accumulation) or a second
// backward through the same graph it recomputes the gradient from the saved lse, in one pass.
// The loss itself is f32 whatever the logits' dtype (as under torch's autocast): a mean over
// many rows deserves more than 8 bits, and an f16 loss could not carry a loss scale of 2^16.
Tensor cross_entropy_cuda(const Tensor& logits, const Tensor& lc, const Tensor& tc,
                          const Tensor& targets, int64_t rows, int64_t cols, int64_t ignore_index) {
  constexpr std::string_view op = "cross_entropy";
  const Device device = lc.device();
  const TensorOptions f32{DType::f32, device};
  const TensorOptions options{lc.dtype(), device};
  const Tensor lse = empty({rows}, f32);
  const Tensor count = empty({}, f32);
  const Tensor row_loss = empty({rows}, f32);
  Tensor loss = empty({}, f32);
  const Tensor dlogits = any_requires_grad({logits}) ? empty(lc.shape(), options) : Tensor();
  const cudaStream_t stream = cuda::launch_stream(device.index);
  visit_index(tc.dtype(), op, [&](auto index_tag) {
    using I = decltype(index_tag);
    visit_cuda_float(lc.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      kernels::cuda::cross_entropy_forward(lc.data<T>(), tc.data<I>(), rows, cols, ignore_index,
                                           lse.data<float>(), count.data<float>(),
                                           row_loss.data<float>(), loss.data<float>(),
                                           dlogits.defined() ? dlogits.data<T>() : nullptr, stream);
    });
  });
  auto pending = std::make_shared<Tensor>(dlogits);
  record("cross_entropy", loss, {logits, targets},
         [lc, tc, lse, count, pending, rows, cols, ignore_index](
             const Tensor& g, const std::vector<bool>&) -> std::vector<Tensor> {
           const double scale = g.item();
           Tensor out = *pending;
           *pending = Tensor();
           if (out.defined() && scale == 1.0) return {out, Tensor()};
           if (!out.defined()) out = empty(lc.shape(), TensorOptions{lc.dtype(), lc.device()});
           const cudaStream_t s = cuda::launch_stream(lc.device().index);
           visit_index(tc.dtype(), "cross_entropy", [&](auto index_tag) {
             using I = decltype(index_tag);
             visit_cuda_float(lc.dtype(), "cross_entropy", [&](auto tag) {
               using T = decltype(tag);
               kernels::cuda::cross_entropy_backward(lc.data<T>(), tc.data<I>(), lse.data<float>(),
                                                     count.data<float>(), scale, rows, cols,
                                                     ignore_index, out.data<T>(), s);
             });
           });
           return {out, Tensor()};
         });
  return loss;
}
#endif

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

  const Tensor lc = logits.detach().contiguous();
  const Tensor tc = targets.contiguous();
  const int64_t cols = logits.size(-1);
  const int64_t rows = shape_numel(rows_shape);
  if (logits.device().is_cuda()) {
#ifdef KILN_CUDA
    // The targets come back to the host for the range check (rows integers): a wrong target is
    // the same clear error as on the CPU, at the cost of one small synchronising copy.
    check_targets(op, tc.to(Device::cpu()), cols, ignore_index);
    return cross_entropy_cuda(logits, lc, tc, targets, rows, cols, ignore_index);
#endif
  }
  // The CPU kernels compute in f32 or f64; 16-bit logits go through an f32 copy, which makes
  // the loss f32 as on CUDA and brings the gradient back in the logits' dtype.
  if (logits.dtype() == DType::bf16 || logits.dtype() == DType::f16)
    return cross_entropy(logits.to(DType::f32), targets, ignore_index);
  check_targets(op, tc, cols, ignore_index);
  const TensorOptions options{logits.dtype(), logits.device()};
  const Tensor lse = empty({rows}, options);
  Tensor loss = empty({}, options);
  int64_t count = 0;
  visit_index(targets.dtype(), op, [&](auto index_tag) {
    using I = decltype(index_tag);
    const I* t = tc.data<I>();
    visit_float(logits.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      const double total = kernels::cpu::cross_entropy_forward(lc.data<T>(), t, rows, cols,
                                                               ignore_index, lse.data<T>(), &count);
      // With every target ignored the mean is 0, not 0/0.
      loss.data<T>()[0] = static_cast<T>(count > 0 ? total / static_cast<double>(count) : 0.0);
    });
  });
  record("cross_entropy", loss, {logits, targets},
         [lc, tc, lse, rows, cols, count, ignore_index](
             const Tensor& g, const std::vector<bool>&) -> std::vector<Tensor> {
           Tensor dlogits = empty(lc.shape(), TensorOptions{lc.dtype(), lc.device()});
           const double scale = count > 0 ? g.item() / static_cast<double>(count) : 0.0;
           visit_index(tc.dtype(), "cross_entropy", [&](auto index_tag) {
             using I = decltype(index_tag);
             visit_float(lc.dtype(), "cross_entropy", [&](auto tag) {
               using T = decltype(tag);
               kernels::cpu::cross_entropy_backward(lc.data<T>(), tc.data<I>(), lse.data<T>(), rows,
                                                    cols, ignore_index, static_cast<T>(scale),
                                                    dlogits.data<T>());
             });
           });
           return {dlogits, Tensor()};
         });
  return loss;
}

}  // namespace kiln
