// The CUDA runtime layer: error messages of KILN_CUDA_CHECK / KILN_CUBLAS_CHECK (formatting only,
// so these run without a GPU in a CUDA build), host<->device copies through the pinned staging
// buffer, and the pool's memory statistics (these skip without a device).
#include <gtest/gtest.h>

#ifdef KILN_CUDA

#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "kernels/cuda/check.h"
#include "core/cuda/runtime.h"
#include "core/random.h"
#include "core/tensor.h"
#include "tests/require_cuda.h"

namespace kiln {
namespace {

cublasStatus_t unsupported_blas_call() {
  return CUBLAS_STATUS_NOT_SUPPORTED;
}
cudaError_t invalid_cuda_call() {
  return cudaErrorInvalidValue;
}

// The message of the kiln::Error `f` throws.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no kiln::Error thrown";
  return {};
}

TEST(CudaCheck, CublasNamesTheCallItsPlaceAndTheStatus) {
  const int line = __LINE__ + 1;
  const std::string message = error_of([] { KILN_CUBLAS_CHECK(unsupported_blas_call()); });
  EXPECT_EQ(message.rfind("[cublas] unsupported_blas_call() failed at ", 0), 0u) << message;
  EXPECT_NE(message.find(std::string("cuda_runtime_test.cpp:") + std::to_string(line)),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("CUBLAS_STATUS_NOT_SUPPORTED"), std::string::npos) << message;
}

TEST(CudaCheck, CudaNamesTheCallItsPlaceAndTheError) {
  const int line = __LINE__ + 1;
  const std::string message = error_of([] { KILN_CUDA_CHECK(invalid_cuda_call()); });
  EXPECT_EQ(message.rfind("[cuda] invalid_cuda_call() failed at ", 0), 0u) << message;
  EXPECT_NE(message.find(std::string("cuda_runtime_test.cpp:") + std::to_string(line)),
            std::string::npos)
      << message;
  EXPECT_NE(message.find(cudaGetErrorString(cudaErrorInvalidValue)), std::string::npos) << message;
}

TEST(CudaCheck, SuccessIsSilent) {
  EXPECT_NO_THROW(KILN_CUBLAS_CHECK(CUBLAS_STATUS_SUCCESS));
  EXPECT_NO_THROW(KILN_CUDA_CHECK(cudaSuccess));
}

class CudaRuntime : public ::testing::Test {
 protected:
  void SetUp() override {
    KILN_SKIP_WITHOUT_CUDA();
  }
};

// Bytes through cuda::copy to the device and back, compared exactly.
void round_trip(size_t nbytes) {
  SCOPED_TRACE("bytes " + std::to_string(nbytes));
  std::vector<unsigned char> src(nbytes), back(nbytes, 0);
  std::iota(src.begin(), src.end(), static_cast<unsigned char>(nbytes % 251));
  void* device_buffer = cuda::allocate(nbytes, 0);
  cuda::copy(device_buffer, src.data(), nbytes, cudaMemcpyHostToDevice, 0);
  cuda::copy(back.data(), device_buffer, nbytes, cudaMemcpyDeviceToHost, 0);
  cuda::deallocate(device_buffer, 0);
  EXPECT_EQ(std::memcmp(src.data(), back.data(), nbytes), 0);
}

TEST_F(CudaRuntime, CopiesThroughTheStagingBufferRoundTrip) {
  // One byte, an odd size, one staging half exactly, and more than the largest buffer (64 MiB,
  // so several chunks through both halves); the buffer grows between them.
  for (const size_t nbytes :
       {size_t{1}, size_t{1000003}, size_t{1} << 19, (size_t{150} << 20) + 7, size_t{33}})
    round_trip(nbytes);
}

TEST_F(CudaRuntime, TensorsRoundTripThroughTheDevice) {
  Generator gen(3);
  const Tensor host = rand({3, 1025, 33}, TensorOptions{DType::f32}, &gen);
  const Tensor back = host.to(Device::cuda(0)).to(Device::cpu());
  EXPECT_EQ(back.to_vector<float>(), host.to_vector<float>());
}

TEST_F(CudaRuntime, MemoryStatsFollowThePool) {
  cuda::synchronize(0);
  const cuda::MemoryStats before = cuda::memory_stats(0);
  const size_t nbytes = size_t{64} << 20;
  void* buffer = cuda::allocate(nbytes, 0);
  cuda::synchronize(0);
  const cuda::MemoryStats during = cuda::memory_stats(0);
  EXPECT_GE(during.current_bytes, before.current_bytes + nbytes);
  EXPECT_GE(during.peak_bytes, during.current_bytes);
  cuda::deallocate(buffer, 0);
  cuda::synchronize(0);
  const cuda::MemoryStats after = cuda::memory_stats(0);
  EXPECT_LT(after.current_bytes, during.current_bytes);
  EXPECT_GE(after.peak_bytes, during.current_bytes);
}

}  // namespace
}  // namespace kiln
#endif  // KILN_CUDA
