#pragma once
// cuDNN's LSTM (cudnnRNNForward in inference mode) holding a copy of a models::LSTM's weights:
// the vendor implementation that `kiln bench scaling` times on the GPU beside kiln's own step
// loop. cuDNN runs the whole recurrence inside the library (one input GEMM, then the steps
// without a host round trip each), which is as fast as a sequential LSTM gets on a GPU.
//
// Forward only (no autograd), f32, zero initial state; f32 arithmetic without TF32, so the
// result matches kiln's LSTM to f32 rounding. Built when the CUDA toolkit has cuDNN
// (cmake/Cudnn.cmake defines KILN_CUDNN).
#ifdef KILN_CUDNN
#include <memory>

#include "models/rnn.h"

namespace kiln::models::cuda {

class CudnnLSTM {
 public:
  // Copies `lstm`'s weights (any device, f32) into cuDNN's weight buffer on cuda:`device`.
  CudnnLSTM(const LSTM& lstm, int device);
  ~CudnnLSTM();
  CudnnLSTM(const CudnnLSTM&) = delete;
  CudnnLSTM& operator=(const CudnnLSTM&) = delete;

  // x [B, T, C] f32 on the device -> the last layer's h_t for every t, [B, T, H].
  Tensor forward(const Tensor& x) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::models::cuda
#endif  // KILN_CUDNN
