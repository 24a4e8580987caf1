#pragma once
// The launchers' status checks: a failing CUDA or cuBLASLt call throws kernels::KernelError with
// the call, file:line and the status, which core's device dispatch rethrows as kiln::Error naming
// the op ("[layer_norm] cuda: cudaGetLastError() failed at kernels/cuda/norm.cu:88: ..."). Code
// in core/ and above uses core/cuda/check.h's KILN_CUDA_CHECK family, which throws kiln::Error
// directly; the two differ only in the exception, since kernels/ cannot include core/.
#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <string>

#include "kernels/error.h"

#define KILN_CUDA_LAUNCH_CHECK(expr)                                                        \
  do {                                                                                      \
    const cudaError_t kiln_status_ = (expr);                                                \
    if (kiln_status_ != cudaSuccess)                                                        \
      throw ::kiln::kernels::KernelError(std::string("cuda: ") + #expr + " failed at " +    \
                                         __FILE__ + ":" + std::to_string(__LINE__) + ": " + \
                                         cudaGetErrorString(kiln_status_));                 \
  } while (0)

#define KILN_CUBLAS_LAUNCH_CHECK(expr)                                                      \
  do {                                                                                      \
    const cublasStatus_t kiln_status_ = (expr);                                             \
    if (kiln_status_ != CUBLAS_STATUS_SUCCESS)                                              \
      throw ::kiln::kernels::KernelError(std::string("cublas: ") + #expr + " failed at " +  \
                                         __FILE__ + ":" + std::to_string(__LINE__) + ": " + \
                                         cublasLtGetStatusName(kiln_status_) + " (" +       \
                                         cublasLtGetStatusString(kiln_status_) + ")");      \
  } while (0)
