#pragma once
// KILN_CUDA_CHECK and friends, for every layer: a failing status throws kernels::KernelError (a
// kiln::Error) naming the call, its file:line and the status, e.g. "[cublas] cublasLtMatmul(...)
// failed at kernels/cuda/matmul.cu:120: CUBLAS_STATUS_NOT_SUPPORTED (the functionality requested
// is not supported)". Inside an op the dispatch rethrows it under the op's name ("[linear]
// cublas: ..."). KILN_CUDNN_CHECK and KILN_NCCL_CHECK expand to cuDNN/NCCL calls and need
// <cudnn.h>/<nccl.h> where they are used (optional parts of a toolkit; this header does not
// include them).
#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <string>

#include "kernels/error.h"

// "<call> failed at <file>:<line>: ", `call` the check's argument as written.
#define KILN_FAILED_AT_(call) \
  (std::string(call) + " failed at " + __FILE__ + ":" + std::to_string(__LINE__) + ": ")

#define KILN_CUDA_CHECK(expr)                                                 \
  do {                                                                        \
    const cudaError_t kiln_status_ = (expr);                                  \
    if (kiln_status_ != cudaSuccess)                                          \
      throw ::kiln::kernels::KernelError(                                     \
          "cuda", KILN_FAILED_AT_(#expr) + cudaGetErrorString(kiln_status_)); \
  } while (0)

// cuBLAS and cuBLASLt share cublasStatus_t; cuBLASLt's own name/description functions need no
// libcublas, only the libcublasLt kiln links anyway.
#define KILN_CUBLAS_CHECK(expr)                                                           \
  do {                                                                                    \
    const cublasStatus_t kiln_status_ = (expr);                                           \
    if (kiln_status_ != CUBLAS_STATUS_SUCCESS)                                            \
      throw ::kiln::kernels::KernelError(                                                 \
          "cublas", KILN_FAILED_AT_(#expr) + cublasLtGetStatusName(kiln_status_) + " (" + \
                        cublasLtGetStatusString(kiln_status_) + ")");                     \
  } while (0)

#define KILN_CUDNN_CHECK(expr)                                                  \
  do {                                                                          \
    const cudnnStatus_t kiln_status_ = (expr);                                  \
    if (kiln_status_ != CUDNN_STATUS_SUCCESS)                                   \
      throw ::kiln::kernels::KernelError(                                       \
          "cudnn", KILN_FAILED_AT_(#expr) + cudnnGetErrorString(kiln_status_)); \
  } while (0)

#define KILN_NCCL_CHECK(expr)                                                 \
  do {                                                                        \
    const ncclResult_t kiln_status_ = (expr);                                 \
    if (kiln_status_ != ncclSuccess)                                          \
      throw ::kiln::kernels::KernelError(                                     \
          "nccl", KILN_FAILED_AT_(#expr) + ncclGetErrorString(kiln_status_)); \
  } while (0)
