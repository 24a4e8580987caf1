#pragma once
// CUDA SGD over all parameters of one dtype in a single multi-tensor launch (same arithmetic as
// kernels/sgd.h), ordered on `stream`.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/sgd.h"

namespace kiln::kernels::cuda {

// One parameter of the step; see AdamWTensor (kernels/cuda/adamw.h). momentum is null when
// s.momentum is 0.
template <typename T>
struct SGDTensor {
  T* param = nullptr;
  const T* grad = nullptr;
  float* momentum = nullptr;
  float* master = nullptr;
  int64_t n = 0;
  bool decay = false;  // apply s.weight_decay to this parameter
};

template <typename T>
int64_t sgd_workspace_bytes(const SGDTensor<T>* tensors, int64_t count);

template <typename T>
void sgd_step(const SGDTensor<T>* tensors, int64_t count, const SGDScalars& s, void* workspace,
              cudaStream_t stream);

}  // namespace kiln::kernels::cuda
