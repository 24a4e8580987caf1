#include "core/backend/loss.h"

#include "core/dispatch.h"
#include "kernels/loss.h"

namespace kiln::backend {
namespace {

Tensor cross_entropy_forward(std::string_view op, const Tensor& logits, const Tensor& targets,
                             int64_t ignore_index, bool, CrossEntropyState& state) {
  const int64_t rows = targets.numel();
  const int64_t cols = logits.size(-1);
  const TensorOptions options{logits.dtype(), logits.device()};
  state.lse = empty({rows}, options);
  Tensor loss = empty({}, options);
  int64_t count = 0;
  visit_index(targets.dtype(), op, [&](auto index_tag) {
    using I = decltype(index_tag);
    visit_float(logits.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      const double total =
          kernels::cpu::cross_entropy_forward(logits.data<T>(), targets.data<I>(), rows, cols,
                                              ignore_index, state.lse.data<T>(), &count);
      // With every target ignored the mean is 0, not 0/0.
      loss.data<T>()[0] = static_cast<T>(count > 0 ? total / static_cast<double>(count) : 0.0);
    });
  });
  state.count = from_vector<int64_t>({count}, Shape{});
  return loss;
}

void cross_entropy_backward(std::string_view op, const Tensor& logits, const Tensor& targets,
                            int64_t ignore_index, const CrossEntropyState& state, double scale,
                            const Tensor& dlogits) {
  const int64_t count = state.count.data<int64_t>()[0];
  const double row_scale = count > 0 ? scale / static_cast<double>(count) : 0.0;
  visit_index(targets.dtype(), op, [&](auto index_tag) {
    using I = decltype(index_tag);
    visit_float(logits.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::cross_entropy_backward(logits.data<T>(), targets.data<I>(), state.lse.data<T>(),
                                           targets.numel(), logits.size(-1), ignore_index,
                                           static_cast<T>(row_scale), dlogits.data<T>());
    });
  });
}

constexpr LossBackend kTable{cross_entropy_forward, cross_entropy_backward};

}  // namespace

const LossBackend& LossBackend::cpu() {
  return kTable;
}

}  // namespace kiln::backend
