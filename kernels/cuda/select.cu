// where / masked_fill / where's backward on CUDA: one element per thread in a grid-stride loop,
// every operand read through its broadcast layout. These ops move a mask byte and one or two
// values per element and sit off the hot path of training (attention masks are fused into the
// attention and softmax kernels), so the general layout path is the only one; contiguous
// operands skip the index arithmetic.
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/pack.cuh"
#include "kernels/cuda/select.h"
#include "kernels/numeric_types.h"

namespace kiln::kernels::cuda {
namespace {

__device__ inline int64_t offset(const StridedLayout& layout, bool contiguous, int64_t i) {
  return contiguous ? i : layout.offset_of(i);
}

template <typename T, typename M>
__global__ void where_kernel(const M* cond, StridedLayout cond_layout, const T* a,
                             StridedLayout a_layout, const T* b, StridedLayout b_layout, T* out,
                             int64_t n) {
  const bool cond_contiguous = cond_layout.is_contiguous();
  const bool a_contiguous = a_layout.is_contiguous();
  const bool b_contiguous = b_layout.is_contiguous();
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    const bool set = cond[offset(cond_layout, cond_contiguous, i)] != M(0);
    out[i] = set ? a[offset(a_layout, a_contiguous, i)] : b[offset(b_layout, b_contiguous, i)];
  }
}

template <typename T, typename M>
__global__ void masked_fill_kernel(const T* x, StridedLayout x_layout, const M* mask,
                                   StridedLayout mask_layout, T value, T* out, int64_t n) {
  const bool x_contiguous = x_layout.is_contiguous();
  const bool mask_contiguous = mask_layout.is_contiguous();
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    const bool set = mask[offset(mask_layout, mask_contiguous, i)] != M(0);
    out[i] = set ? value : x[offset(x_layout, x_contiguous, i)];
  }
}

template <typename T, typename M>
__global__ void where_backward_kernel(const M* cond, StridedLayout cond_layout, const T* grad,
                                      T* grad_true, T* grad_false, int64_t n) {
  const bool cond_contiguous = cond_layout.is_contiguous();
  const T zero{};  // all-zero bits: +0 in every floating type
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    const bool set = cond[offset(cond_layout, cond_contiguous, i)] != M(0);
    if (grad_true != nullptr) grad_true[i] = set ? grad[i] : zero;
    if (grad_false != nullptr) grad_false[i] = set ? zero : grad[i];
  }
}

}  // namespace

template <typename T, typename M>
void where(const M* cond, const StridedLayout& cond_layout, const T* a,
           const StridedLayout& a_layout, const T* b, const StridedLayout& b_layout, T* out,
           int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  where_kernel<<<grid_for(n), kBlockSize, 0, stream>>>(cond, cond_layout, a, a_layout, b, b_layout,
                                                       out, n);
  KILN_CUDA_CHECK(cudaGetLastError());
}

template <typename T, typename M>
void masked_fill(const T* x, const StridedLayout& x_layout, const M* mask,
                 const StridedLayout& mask_layout, T value, T* out, int64_t n,
                 cudaStream_t stream) {
  if (n == 0) return;
  masked_fill_kernel<<<grid_for(n), kBlockSize, 0, stream>>>(x, x_layout, mask, mask_layout, value,
                                                             out, n);
  KILN_CUDA_CHECK(cudaGetLastError());
}

template <typename T, typename M>
void where_backward(const M* cond, const StridedLayout& cond_layout, const T* grad, T* grad_true,
                    T* grad_false, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  where_backward_kernel<<<grid_for(n), kBlockSize, 0, stream>>>(cond, cond_layout, grad, grad_true,
                                                                grad_false, n);
  KILN_CUDA_CHECK(cudaGetLastError());
}

#define KILN_CUDA_INSTANTIATE_SELECT(T, M)                                                        \
  template void where<T, M>(const M*, const StridedLayout&, const T*, const StridedLayout&,       \
                            const T*, const StridedLayout&, T*, int64_t, cudaStream_t);           \
  template void masked_fill<T, M>(const T*, const StridedLayout&, const M*, const StridedLayout&, \
                                  T, T*, int64_t, cudaStream_t);                                  \
  template void where_backward<T, M>(const M*, const StridedLayout&, const T*, T*, T*, int64_t,   \
                                     cudaStream_t);
#define KILN_CUDA_INSTANTIATE_SELECT_MASKS(T) \
  KILN_CUDA_INSTANTIATE_SELECT(T, bool)       \
  KILN_CUDA_INSTANTIATE_SELECT(T, uint8_t)
KILN_CUDA_INSTANTIATE_SELECT_MASKS(float)
KILN_CUDA_INSTANTIATE_SELECT_MASKS(bf16)
KILN_CUDA_INSTANTIATE_SELECT_MASKS(f16)

}  // namespace kiln::kernels::cuda
