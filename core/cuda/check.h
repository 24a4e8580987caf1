#pragma once
// KILN_CUDA_CHECK and friends: turn a failing status into a kiln::Error naming the call's
// file:line, e.g. "[cublas] cublasLtMatmul(...) failed at core/ops/matmul.cpp:120:
// CUBLAS_STATUS_NOT_SUPPORTED (the functionality requested is not supported)". cuDNN and NCCL are
// optional parts of a toolkit: their macros exist only where their headers do. The launchers
// in kernels/ use the KILN_*_LAUNCH_CHECK pair of kernels/cuda/check.h instead, which throws
// kernels::KernelError for the op's dispatch to name.
#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include "core/error.h"

#if __has_include(<cudnn.h>)
#include <cudnn.h>
#define KILN_HAS_CUDNN_HEADER 1
#endif
#if __has_include(<nccl.h>)
#include <nccl.h>
#define KILN_HAS_NCCL_HEADER 1
#endif

#define KILN_CUDA_CHECK(expr)                                                   \
  do {                                                                          \
    const cudaError_t kiln_status_ = (expr);                                    \
    if (kiln_status_ != cudaSuccess)                                            \
      ::kiln::fail("cuda", "{} failed at {}:{}: {}", #expr, __FILE__, __LINE__, \
                   cudaGetErrorString(kiln_status_));                           \
  } while (0)

// cuBLAS and cuBLASLt share cublasStatus_t; cuBLASLt's own name/description functions need no
// libcublas, only the libcublasLt kiln links anyway.
#define KILN_CUBLAS_CHECK(expr)                                                                 \
  do {                                                                                          \
    const cublasStatus_t kiln_status_ = (expr);                                                 \
    if (kiln_status_ != CUBLAS_STATUS_SUCCESS)                                                  \
      ::kiln::fail("cublas", "{} failed at {}:{}: {} ({})", #expr, __FILE__, __LINE__,          \
                   cublasLtGetStatusName(kiln_status_), cublasLtGetStatusString(kiln_status_)); \
  } while (0)

#ifdef KILN_HAS_CUDNN_HEADER
#define KILN_CUDNN_CHECK(expr)                                                   \
  do {                                                                           \
    const cudnnStatus_t kiln_status_ = (expr);                                   \
    if (kiln_status_ != CUDNN_STATUS_SUCCESS)                                    \
      ::kiln::fail("cudnn", "{} failed at {}:{}: {}", #expr, __FILE__, __LINE__, \
                   cudnnGetErrorString(kiln_status_));                           \
  } while (0)
#endif

#ifdef KILN_HAS_NCCL_HEADER
#define KILN_NCCL_CHECK(expr)                                                   \
  do {                                                                          \
    const ncclResult_t kiln_status_ = (expr);                                   \
    if (kiln_status_ != ncclSuccess)                                            \
      ::kiln::fail("nccl", "{} failed at {}:{}: {}", #expr, __FILE__, __LINE__, \
                   ncclGetErrorString(kiln_status_));                           \
  } while (0)
#endif
