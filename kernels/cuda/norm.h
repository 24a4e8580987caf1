#pragma once
// CUDA counterparts of kernels/norm.h, ordered on `stream`. T is float, bf16 or f16; the saved
// statistics (mean, rstd) are f32 whatever T is, so a bf16 forward loses nothing the backward
// needs. The weight/bias gradients are reduced deterministically through `workspace`, f32
// scratch of norm_backward_workspace(...) elements that the caller allocates on the device.
#include <cuda_runtime_api.h>

#include <cstdint>

namespace kiln::kernels::cuda {

template <typename T>
void layer_norm_forward(const T* x, const T* weight, const T* bias, T* y, float* mean, float* rstd,
                        int64_t rows, int64_t cols, double eps, cudaStream_t stream);
template <typename T>
void rms_norm_forward(const T* x, const T* weight, T* y, float* rstd, int64_t rows, int64_t cols,
                      double eps, cudaStream_t stream);

// f32 elements of workspace the backward needs on the current device (0 when no parameter
// gradient is wanted).
int64_t norm_backward_workspace(int64_t rows, int64_t cols, int parameter_grads);

// dx, dweight and dbias may each be null (not wanted).
template <typename T>
void layer_norm_backward(const T* x, const T* weight, const float* mean, const float* rstd,
                         const T* g, T* dx, T* dweight, T* dbias, float* workspace, int64_t rows,
                         int64_t cols, cudaStream_t stream);
template <typename T>
void rms_norm_backward(const T* x, const T* weight, const float* rstd, const T* g, T* dx,
                       T* dweight, float* workspace, int64_t rows, int64_t cols,
                       cudaStream_t stream);

}  // namespace kiln::kernels::cuda
