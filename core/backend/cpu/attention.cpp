#include "core/backend/attention.h"

#include "core/dispatch.h"

namespace kiln::backend {
namespace {

void forward(std::string_view op, const Tensor& q, const Tensor& k, const Tensor& v,
             const Tensor& out, const Tensor& lse, const kernels::AttentionDims& dims) {
  visit_float(q.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::attention_forward(q.data<T>(), k.data<T>(), v.data<T>(), out.data<T>(),
                                    lse.data<T>(), dims);
  });
}

void backward(std::string_view op, const Tensor& q, const Tensor& k, const Tensor& v,
              const Tensor& out, const Tensor& lse, const Tensor& grad, const Tensor& dq,
              const Tensor& dk, const Tensor& dv, const kernels::AttentionDims& dims, bool) {
  visit_float(q.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::attention_backward(q.data<T>(), k.data<T>(), v.data<T>(), out.data<T>(),
                                     lse.data<T>(), grad.data<T>(), data_or_null<T>(dq),
                                     data_or_null<T>(dk), data_or_null<T>(dv), dims);
  });
}

constexpr AttentionBackend kTable{forward, backward};

}  // namespace

const AttentionBackend& AttentionBackend::cpu() {
  return kTable;
}

}  // namespace kiln::backend
