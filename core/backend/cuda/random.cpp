#include "core/backend/random.h"

#include "core/cuda/runtime.h"
#include "kernels/cuda/random.h"

namespace kiln::backend {
namespace {

void uniform(std::string_view, const Tensor& out, uint64_t seed, uint64_t first, double low,
             double high) {
  kernels::cuda::uniform(out.data<float>(), out.numel(), seed, first, low, high,
                         cuda::launch_stream(out.device().index));
}

void normal(std::string_view, const Tensor& out, uint64_t seed, uint64_t first, double mean,
            double std) {
  kernels::cuda::normal(out.data<float>(), out.numel(), seed, first, mean, std,
                        cuda::launch_stream(out.device().index));
}

void randint(std::string_view, const Tensor& out, uint64_t seed, uint64_t first, int64_t low,
             int64_t high) {
  kernels::cuda::randint(out.data<int64_t>(), out.numel(), seed, first, low, high,
                         cuda::launch_stream(out.device().index));
}

constexpr RandomBackend kTable{uniform, normal, randint};

}  // namespace

const RandomBackend& RandomBackend::cuda() {
  return kTable;
}

}  // namespace kiln::backend
