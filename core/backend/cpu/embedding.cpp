#include "core/backend/embedding.h"

#include "core/dispatch.h"
#include "kernels/embedding.h"

namespace kiln::backend {
namespace {

int64_t forward(std::string_view op, const Tensor& weight, const Tensor& ids, const Tensor& out) {
  return visit_float(weight.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    return visit_index(ids.dtype(), op, [&](auto index_tag) {
      using I = decltype(index_tag);
      return kernels::cpu::embedding_forward(weight.data<T>(), weight.strides()[0],
                                             weight.strides()[1], ids.data<I>(), out.data<T>(),
                                             ids.numel(), weight.size(0), weight.size(1));
    });
  });
}

void backward(std::string_view op, const Tensor& grad_out, const Tensor& ids,
              const Tensor& grad_weight) {
  visit_float(grad_out.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    visit_index(ids.dtype(), op, [&](auto index_tag) {
      using I = decltype(index_tag);
      kernels::cpu::embedding_backward(grad_out.data<T>(), ids.data<I>(), grad_weight.data<T>(),
                                       ids.numel(), grad_weight.size(1));
    });
  });
}

constexpr EmbeddingBackend kTable{forward, backward};

}  // namespace

const EmbeddingBackend& EmbeddingBackend::cpu() {
  return kTable;
}

}  // namespace kiln::backend
