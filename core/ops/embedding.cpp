#include "core/ops/embedding.h"

#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/ops/common.h"
#include "kernels/embedding.h"

#ifdef KILN_CUDA
#include "core/cuda/runtime.h"
#include "kernels/cuda/embedding.h"
#endif

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
  int64_t bad = -1;
  if (weight.device().is_cuda()) {
#ifdef KILN_CUDA
    visit_cuda_float(weight.dtype(), "embedding", [&](auto tag) {
      using T = decltype(tag);
      visit_index(ids.dtype(), "embedding", [&](auto index_tag) {
        using I = decltype(index_tag);
        bad = kernels::cuda::embedding_forward(
            weight.data<T>(), weight.strides()[0], weight.strides()[1], flat_ids.data<I>(),
            out.data<T>(), ids.numel(), num_embeddings, dim,
            cuda::launch_stream(weight.device().index));
      });
    });
#endif
  } else {
    visit_float(weight.dtype(), "embedding", [&](auto tag) {
      using T = decltype(tag);
      visit_index(ids.dtype(), "embedding", [&](auto index_tag) {
        using I = decltype(index_tag);
        bad = kernels::cpu::embedding_forward(weight.data<T>(), weight.strides()[0],
                                              weight.strides()[1], flat_ids.data<I>(),
                                              out.data<T>(), ids.numel(), num_embeddings, dim);
      });
    });
  }
  if (bad >= 0) {
    fail("embedding", "id {} (at flat position {} of ids {}) is out of range for {} embeddings (weight {})",
         flat_ids.to_vector<int64_t>()[static_cast<size_t>(bad)],
         bad, shape_str(ids.shape()), num_embeddings, shape_str(weight.shape()));
  }
  record("embedding", out, {weight, ids},
         [flat_ids, num_embeddings, dim](const Tensor& g,
                                         const std::vector<bool>&) -> std::vector<Tensor> {
           Tensor grad = zeros({num_embeddings, dim}, TensorOptions{g.dtype(), g.device()});
           const Tensor packed = g.contiguous();
           if (g.device().is_cuda()) {
#ifdef KILN_CUDA
             visit_cuda_float(g.dtype(), "embedding", [&](auto tag) {
               using T = decltype(tag);
               visit_index(flat_ids.dtype(), "embedding", [&](auto index_tag) {
                 using I = decltype(index_tag);
                 kernels::cuda::embedding_backward(packed.data<T>(), flat_ids.data<I>(),
                                                   grad.data<T>(), flat_ids.numel(),
                                                   num_embeddings, dim,
                                                   cuda::launch_stream(g.device().index));
               });
             });
#endif
           } else {
             visit_float(g.dtype(), "embedding", [&](auto tag) {
               using T = decltype(tag);
               visit_index(flat_ids.dtype(), "embedding", [&](auto index_tag) {
                 using I = decltype(index_tag);
                 kernels::cpu::embedding_backward(packed.data<T>(), flat_ids.data<I>(),
                                                  grad.data<T>(), flat_ids.numel(), dim);
               });
             });
           }
           return {grad, Tensor()};
         });
  return out;
}

}  // namespace kiln
