// Random fills on CUDA: one element per thread in a grid-stride loop, each a pure function of
// (seed, offset + i) through Philox, as on the CPU. The arithmetic after the draw is written
// with explicitly rounded intrinsics (__fmul_rn, __dadd_rn...) because nvcc would otherwise
// contract a * b + c into one fused multiply-add, rounding once where the CPU rounds twice,
// and the two devices would disagree in the last bit.
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/pack.cuh"
#include "kernels/cuda/random.h"
#include "kernels/philox.h"

namespace kiln::kernels::cuda {
namespace {

constexpr double kTwoPi = 6.283185307179586;

__global__ void uniform_kernel(float* out, int64_t n, uint64_t seed, uint64_t offset, float low,
                               float range) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    const PhiloxOutput r = philox4x32(seed, offset + static_cast<uint64_t>(i));
    out[i] = __fadd_rn(low, __fmul_rn(range, uniform_from_bits(r.v[0])));
  }
}

__global__ void normal_kernel(float* out, int64_t n, uint64_t seed, uint64_t offset, double mean,
                              double std) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    const PhiloxOutput r = philox4x32(seed, offset + static_cast<uint64_t>(i));
    // Box-Muller in f64 as on the CPU; 1 - u keeps the log argument in (0, 1].
    const double u1 = __dsub_rn(1.0, uniform_from_bits(r.v[0], r.v[1]));
    const double u2 = uniform_from_bits(r.v[2], r.v[3]);
    const double z = __dmul_rn(sqrt(__dmul_rn(-2.0, log(u1))), cos(__dmul_rn(kTwoPi, u2)));
    out[i] = static_cast<float>(__dadd_rn(mean, __dmul_rn(std, z)));
  }
}

__global__ void randint_kernel(int64_t* out, int64_t n, uint64_t seed, uint64_t offset, int64_t low,
                               uint64_t range) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    const PhiloxOutput r = philox4x32(seed, offset + static_cast<uint64_t>(i));
    const uint64_t bits = (static_cast<uint64_t>(r.v[0]) << 32) | r.v[1];
    out[i] = low + static_cast<int64_t>(bits % range);
  }
}

}  // namespace

void uniform(float* out, int64_t n, uint64_t seed, uint64_t offset, double low, double high,
             cudaStream_t stream) {
  if (n == 0) return;
  uniform_kernel<<<grid_for(n), kBlockSize, 0, stream>>>(
      out, n, seed, offset, static_cast<float>(low), static_cast<float>(high - low));
  KILN_CUDA_CHECK(cudaGetLastError());
}

void normal(float* out, int64_t n, uint64_t seed, uint64_t offset, double mean, double std,
            cudaStream_t stream) {
  if (n == 0) return;
  normal_kernel<<<grid_for(n), kBlockSize, 0, stream>>>(out, n, seed, offset, mean, std);
  KILN_CUDA_CHECK(cudaGetLastError());
}

void randint(int64_t* out, int64_t n, uint64_t seed, uint64_t offset, int64_t low, int64_t high,
             cudaStream_t stream) {
  if (n == 0) return;
  randint_kernel<<<grid_for(n), kBlockSize, 0, stream>>>(out, n, seed, offset, low,
                                                         static_cast<uint64_t>(high - low));
  KILN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace kiln::kernels::cuda
