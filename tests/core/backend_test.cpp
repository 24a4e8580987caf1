#include <gtest/gtest.h>

#include <string>

#include "core/backend/norm.h"
#include "core/backend/on_device.h"
#include "core/device.h"
#include "core/error.h"

namespace kiln::testing {
namespace {

// The message of the kiln::Error that f throws; fails the test when it throws nothing else.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a kiln::Error";
  return "";
}

TEST(Backend, CudaEntryInACpuOnlyBuildIsAClearError) {
  if (cuda_compiled()) GTEST_SKIP() << "this build has CUDA";
  const Tensor x = zeros({2, 3});
  const Tensor stats = zeros({2});
  const std::string message = error_of([&] {
    on_device("layer_norm", Device::cuda(), &backend::NormBackend::layer_norm_forward, x, Tensor(),
              Tensor(), x, stats, stats, int64_t{2}, int64_t{3}, 1e-5);
  });
  EXPECT_EQ(message, "[layer_norm] kiln was built without CUDA (rebuild with KILN_CUDA=ON)");
}

// A backend whose one entry fails the way a launcher does.
struct FailingBackend {
  int (*run)(std::string_view op, int value);
  static const FailingBackend& cpu() {
    static constexpr FailingBackend table{[](std::string_view, int value) -> int {
      if (value < 0) throw kernels::KernelError("cuda", "launch failed at kernels/x.cu:1: oops");
      return value + 1;
    }};
    return table;
  }
  static const FailingBackend& cuda() { return cpu(); }
};

TEST(Backend, KernelFailureBecomesAnErrorNamingTheOp) {
  EXPECT_EQ(on_device("softmax", Device::cpu(), &FailingBackend::run, 41), 42);
  EXPECT_EQ(error_of([] { on_device("softmax", Device::cpu(), &FailingBackend::run, -1); }),
            "[softmax] cuda: launch failed at kernels/x.cu:1: oops");
}

}  // namespace
}  // namespace kiln::testing
