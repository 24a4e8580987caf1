#include "core/ops/embedding.h"

#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/ops/common.h"
#include "kernels/embedding.h"

namespace kiln {

Tensor embedding(const Tensor& weight, const Tensor& ids) {
  check_dim("embedding", "weight", weight, 2);
  check_same_device("embedding", {weight, ids});
  const int64_t num_embeddings = weight.size(0);
  const int64_t dim = weight.size(1);
  Shape out_shape = ids.shape();
  out_shape.push_back(dim);
  Tensor out = empty(out_shape, TensorOptions{weight.dtype(), weight.device()});
  const Tensor flat_ids = ids.contiguous();
  visit_float(weight.dtype(), "embedding", [&](auto tag) {
    using T = decltype(tag);
    visit_index(ids.dtype(), "embedding", [&](auto index_tag) {
      using I = decltype(index_tag);
      if (!weight.device().is_cpu()) no_cuda_kernel("embedding");
      const I* id_data = flat_ids.data<I>();
      const int64_t bad = kernels::cpu::embedding_forward(
          weight.data<T>(), weight.strides()[0], weight.strides()[1], id_data, out.data<T>(),
          ids.numel(), num_embeddings, dim);
      KILN_CHECK(bad < 0, "embedding",
                 "id {} (at flat position {} of ids {}) is out of range for {} embeddings "
                 "(weight {})",
                 static_cast<int64_t>(id_data[bad]), bad, shape_str(ids.shape()), num_embeddings,
                 shape_str(weight.shape()));
    });
  });
  record("embedding", out, {weight, ids},
         [flat_ids, num_embeddings, dim](const Tensor& g,
                                         const std::vector<bool>&) -> std::vector<Tensor> {
           Tensor grad = zeros({num_embeddings, dim}, TensorOptions{g.dtype(), g.device()});
           const Tensor packed = g.contiguous();
           visit_float(g.dtype(), "embedding", [&](auto tag) {
             using T = decltype(tag);
             visit_index(flat_ids.dtype(), "embedding", [&](auto index_tag) {
               using I = decltype(index_tag);
               if (!g.device().is_cpu()) no_cuda_kernel("embedding");
               kernels::cpu::embedding_backward(packed.data<T>(), flat_ids.data<I>(),
                                                grad.data<T>(), flat_ids.numel(), dim);
             });
           });
           return {grad, Tensor()};
         });
  return out;
}

}  // namespace kiln
