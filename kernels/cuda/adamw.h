#pragma once
// CUDA AdamW over all parameters of one dtype in a single multi-tensor launch (same arithmetic
// as kernels/adamw.h), ordered on `stream`.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/adamw.h"

namespace kiln::kernels::cuda {

// One parameter of the step. T (float, bf16 or f16) is the parameter's and its gradient's type;
// the moments are f32. `master` is the f32 master copy of a bf16/f16 parameter (null for f32
// parameters, which are their own master).
template <typename T>
struct AdamWTensor {
  T* param = nullptr;
  const T* grad = nullptr;
  float* exp_avg = nullptr;
  float* exp_avg_sq = nullptr;
  float* master = nullptr;
  int64_t n = 0;
  bool decay = false;  // apply s.weight_decay to this parameter
};

// Bytes of device workspace adamw_step needs for these tensors.
template <typename T>
int64_t adamw_workspace_bytes(const AdamWTensor<T>* tensors, int64_t count);

// s.weight_decay applies to the tensors with decay set.
template <typename T>
void adamw_step(const AdamWTensor<T>* tensors, int64_t count, const AdamWScalars& s,
                void* workspace, cudaStream_t stream);

}  // namespace kiln::kernels::cuda
