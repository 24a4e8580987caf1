#pragma once
// CUDA counterparts of kernels/grad_clip.h over all gradients of one dtype at once
// (multi-tensor launches), ordered on `stream`.
#include <cuda_runtime_api.h>

#include <cstdint>

namespace kiln::kernels::cuda {

template <typename T>
struct GradTensor {
  T* data = nullptr;
  int64_t n = 0;
};

// Bytes of device workspace sum_of_squares and scale_ need for these tensors.
template <typename T>
int64_t grad_workspace_bytes(const GradTensor<T>* tensors, int64_t count);

// *result (device memory) = Σ x² over every element of every tensor, accumulated in double:
// per-chunk partial sums, then one block adding them in chunk order, so the same gradients
// give the same bits. Non-finite elements make it non-finite (no f32 overflow of finite
// bf16/f16/f32 values: the squares are doubles).
template <typename T>
void sum_of_squares(const GradTensor<T>* tensors, int64_t count, double* result, void* workspace,
                    cudaStream_t stream);

// x *= scale over every tensor.
template <typename T>
void scale_(const GradTensor<T>* tensors, int64_t count, double scale, void* workspace,
            cudaStream_t stream);

}  // namespace kiln::kernels::cuda
