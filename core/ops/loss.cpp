#include "core/ops/loss.h"

#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/ops/common.h"
#include "kernels/loss.h"

namespace kiln {

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
  if (logits.device().is_cuda()) no_cuda_kernel(op);

  const Tensor lc = logits.detach().contiguous();
  const Tensor tc = targets.contiguous();
  const int64_t cols = logits.size(-1);
  const int64_t rows = shape_numel(rows_shape);
  const TensorOptions options{logits.dtype(), logits.device()};
  const Tensor lse = empty({rows}, options);
  Tensor loss = empty({}, options);
  int64_t count = 0;
  visit_index(targets.dtype(), op, [&](auto index_tag) {
    using I = decltype(index_tag);
    const I* t = tc.data<I>();
    for (int64_t r = 0; r < rows; ++r) {
      const auto value = static_cast<int64_t>(t[r]);
      KILN_CHECK(value == ignore_index || (value >= 0 && value < cols), op,
                 "target {} at position {} is out of range [0, {}) and is not ignore_index ({})",
                 value, r, cols, ignore_index);
    }
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
