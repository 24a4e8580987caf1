#pragma once
// CUDA_CHECK and friends: turn a failing status into a kiln::Error naming the call's file:line.
#include <cuda_runtime_api.h>

#include "core/error.h"

#define CUDA_CHECK(expr)                                                                        \
  do {                                                                                          \
    const cudaError_t kiln_status_ = (expr);                                                    \
    if (kiln_status_ != cudaSuccess)                                                            \
      ::kiln::fail("cuda", "{} failed at {}:{}: {}", #expr, __FILE__, __LINE__,                 \
                   cudaGetErrorString(kiln_status_));                                           \
  } while (0)
