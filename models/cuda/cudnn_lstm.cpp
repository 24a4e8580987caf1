#include "models/cuda/cudnn_lstm.h"

#ifdef KILN_CUDNN
#include <cudnn.h>

#include <algorithm>
#include <vector>

#include "kernels/cuda/check.h"
#include "core/cuda/runtime.h"
#include "core/ops.h"

namespace kiln::models::cuda {
namespace {

constexpr std::string_view kOp = "cudnn_lstm";

// A cuDNN descriptor released with its owner (the create/destroy pair is the template's).
template <typename T, cudnnStatus_t (*Create)(T*), cudnnStatus_t (*Destroy)(T)>
class Descriptor {
 public:
  Descriptor() { KILN_CUDNN_CHECK(Create(&handle_)); }
  ~Descriptor() { Destroy(handle_); }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  T get() const { return handle_; }

 private:
  T handle_{};
};

using TensorDesc =
    Descriptor<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor>;
using DataDesc = Descriptor<cudnnRNNDataDescriptor_t, cudnnCreateRNNDataDescriptor,
                            cudnnDestroyRNNDataDescriptor>;

// Batch-major [B, T, width] sequences, all of length T.
void set_sequences(const DataDesc& desc, int batch, int steps, int width) {
  const std::vector<int> lengths(static_cast<size_t>(batch), steps);
  KILN_CUDNN_CHECK(cudnnSetRNNDataDescriptor(desc.get(), CUDNN_DATA_FLOAT,
                                             CUDNN_RNN_DATA_LAYOUT_BATCH_MAJOR_UNPACKED, steps,
                                             batch, width, lengths.data(), nullptr));
}

// The library context; declared first in Impl so that it outlives the descriptors.
class Handle {
 public:
  Handle() { KILN_CUDNN_CHECK(cudnnCreate(&handle_)); }
  ~Handle() { cudnnDestroy(handle_); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  cudnnHandle_t get() const { return handle_; }

 private:
  cudnnHandle_t handle_{};
};

}  // namespace

struct CudnnLSTM::Impl {
  Handle handle;
  int device = 0;
  int64_t input_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  Descriptor<cudnnDropoutDescriptor_t, cudnnCreateDropoutDescriptor, cudnnDestroyDropoutDescriptor>
      dropout;
  Descriptor<cudnnRNNDescriptor_t, cudnnCreateRNNDescriptor, cudnnDestroyRNNDescriptor> rnn;
  Tensor weight_space;  // f32 on the device, cuDNN's layout
  size_t weight_bytes = 0;
};

CudnnLSTM::CudnnLSTM(const LSTM& lstm, int device) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.device = device;
  m.input_size = lstm.input_size();
  m.hidden_size = lstm.hidden_size();
  m.num_layers = lstm.num_layers();
  const RecurrentWeights& first = lstm.weights(0);
  KILN_CHECK(first.weight_ih.dtype() == DType::f32, kOp, "weights have dtype {}, expected f32",
             dtype_name(first.weight_ih.dtype()));
  const bool bias = first.bias_ih.has_value();
  const cudaStream_t stream = kiln::cuda::launch_stream(device);
  KILN_CUDNN_CHECK(cudnnSetStream(m.handle.get(), stream));
  // No dropout between layers (inference): a descriptor with probability 0 and no RNG state.
  KILN_CUDNN_CHECK(cudnnSetDropoutDescriptor(m.dropout.get(), m.handle.get(), 0.0f, nullptr, 0, 0));
  // FMA math: plain f32, no TF32 tensor cores, to agree with kiln's f32 LSTM. Padded I/O is
  // what permits the batch-major layout of kiln's [B, T, C] tensors (no sequence is padded here).
  KILN_CUDNN_CHECK(cudnnSetRNNDescriptor_v8(
      m.rnn.get(), CUDNN_RNN_ALGO_STANDARD, CUDNN_LSTM,
      bias ? CUDNN_RNN_DOUBLE_BIAS : CUDNN_RNN_NO_BIAS, CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT,
      CUDNN_DATA_FLOAT, CUDNN_DATA_FLOAT, CUDNN_FMA_MATH, static_cast<int32_t>(m.input_size),
      static_cast<int32_t>(m.hidden_size), static_cast<int32_t>(m.hidden_size),
      static_cast<int32_t>(m.num_layers), m.dropout.get(), CUDNN_RNN_PADDED_IO_ENABLED));
  KILN_CUDNN_CHECK(cudnnGetRNNWeightSpaceSize(m.handle.get(), m.rnn.get(), &m.weight_bytes));
  m.weight_space = empty({static_cast<int64_t>(m.weight_bytes / sizeof(float))},
                         TensorOptions{DType::f32, Device::cuda(device)});
  KILN_CUDA_CHECK(cudaMemsetAsync(m.weight_space.raw_data(), 0, m.weight_bytes, stream));

  // cuDNN numbers an LSTM layer's matrices 0-3 (input: i, f, g, o) and 4-7 (recurrent: the
  // same gates): PyTorch's gate order, so gate k is rows [k H, (k + 1) H) of weight_ih/hh.
  TensorDesc matrix_desc, bias_desc;
  const int64_t H = m.hidden_size;
  for (int64_t layer = 0; layer < m.num_layers; ++layer) {
    const RecurrentWeights& w = lstm.weights(layer);
    for (int32_t id = 0; id < 8; ++id) {
      void* matrix = nullptr;
      void* bias_ptr = nullptr;
      KILN_CUDNN_CHECK(cudnnGetRNNWeightParams(
          m.handle.get(), m.rnn.get(), static_cast<int32_t>(layer), m.weight_bytes,
          m.weight_space.raw_data(), id, matrix_desc.get(), &matrix, bias_desc.get(), &bias_ptr));
      const bool recurrent = id >= 4;
      const int64_t gate = id % 4;
      const Tensor source = (recurrent ? w.weight_hh : w.weight_ih).detach();
      const Tensor block =
          slice(source, 0, gate * H, (gate + 1) * H).contiguous().to(Device::cuda(device));
      KILN_CUDA_CHECK(cudaMemcpyAsync(matrix, block.raw_data(),
                                      static_cast<size_t>(block.numel()) * sizeof(float),
                                      cudaMemcpyDeviceToDevice, stream));
      if (bias && bias_ptr != nullptr) {
        const Tensor b =
            slice((recurrent ? *w.bias_hh : *w.bias_ih).detach(), 0, gate * H, (gate + 1) * H)
                .contiguous()
                .to(Device::cuda(device));
        KILN_CUDA_CHECK(cudaMemcpyAsync(bias_ptr, b.raw_data(),
                                        static_cast<size_t>(H) * sizeof(float),
                                        cudaMemcpyDeviceToDevice, stream));
      }
      // The staging blocks are freed in stream order after the copies that read them.
    }
  }
}

CudnnLSTM::~CudnnLSTM() = default;

Tensor CudnnLSTM::forward(const Tensor& x) const {
  const Impl& m = *impl_;
  KILN_CHECK(x.defined() && x.dim() == 3 && x.size(2) == m.input_size, kOp,
             "input has shape {}, expected [B, T, C] with C = {}",
             x.defined() ? shape_str(x.shape()) : "undefined", m.input_size);
  KILN_CHECK(x.dtype() == DType::f32, kOp, "input has dtype {}, expected f32",
             dtype_name(x.dtype()));
  KILN_CHECK(x.device() == Device::cuda(m.device), kOp, "input is on {}, expected cuda:{}",
             x.device().str(), m.device);
  const int batch = static_cast<int>(x.size(0));
  const int steps = static_cast<int>(x.size(1));
  KILN_CHECK(steps > 0 && batch > 0, kOp, "input has shape {}, expected B, T >= 1",
             shape_str(x.shape()));
  const Device device = Device::cuda(m.device);
  const Tensor xc = x.detach().contiguous();
  Tensor y = empty({x.size(0), x.size(1), m.hidden_size}, TensorOptions{DType::f32, device});

  DataDesc x_desc, y_desc;
  set_sequences(x_desc, batch, steps, static_cast<int>(m.input_size));
  set_sequences(y_desc, batch, steps, static_cast<int>(m.hidden_size));
  TensorDesc state_desc;  // h and c: [layers, B, H]
  const int dims[3] = {static_cast<int>(m.num_layers), batch, static_cast<int>(m.hidden_size)};
  const int strides[3] = {batch * dims[2], dims[2], 1};
  KILN_CUDNN_CHECK(
      cudnnSetTensorNdDescriptor(state_desc.get(), CUDNN_DATA_FLOAT, 3, dims, strides));

  size_t work_bytes = 0, reserve_bytes = 0;
  KILN_CUDNN_CHECK(cudnnGetRNNTempSpaceSizes(m.handle.get(), m.rnn.get(), CUDNN_FWD_MODE_INFERENCE,
                                             x_desc.get(), &work_bytes, &reserve_bytes));
  const Tensor work = empty({static_cast<int64_t>(std::max<size_t>(work_bytes, 1))},
                            TensorOptions{DType::u8, device});
  // cudnnRNNForward reads the sequence lengths from device memory.
  const Tensor lengths =
      from_vector(std::vector<int32_t>(static_cast<size_t>(batch), steps), {batch}, device);
  KILN_CUDNN_CHECK(cudnnSetStream(m.handle.get(), kiln::cuda::launch_stream(m.device)));
  // Null hx/cx: a zero initial state; null hy/cy: the final state is not kept.
  KILN_CUDNN_CHECK(cudnnRNNForward(
      m.handle.get(), m.rnn.get(), CUDNN_FWD_MODE_INFERENCE, lengths.data<int32_t>(), x_desc.get(),
      xc.raw_data(), y_desc.get(), y.raw_data(), state_desc.get(), nullptr, nullptr,
      state_desc.get(), nullptr, nullptr, m.weight_bytes, m.weight_space.raw_data(), work_bytes,
      work.raw_data(), 0, nullptr));
  return y;
}

}  // namespace kiln::models::cuda
#endif  // KILN_CUDNN
