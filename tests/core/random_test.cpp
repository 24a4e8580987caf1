#include <gtest/gtest.h>

#include <cmath>

#include "core/ops/reduce.h"
#include "core/random.h"
#include "kernels/philox.h"
#include "tests/require_cuda.h"

namespace kiln {
namespace {

TEST(Random, PhiloxMatchesTheRandom123KnownAnswer) {
  // Random123's kat_vectors: philox4x32-10 with counter 0 and key 0.
  const kernels::PhiloxOutput r = kernels::philox4x32(0, 0);
  EXPECT_EQ(r.v[0], 0x6627e8d5u);
  EXPECT_EQ(r.v[1], 0xe169c58du);
  EXPECT_EQ(r.v[2], 0xbc57ac4cu);
  EXPECT_EQ(r.v[3], 0x9b00dbd8u);
}

TEST(Random, SameSeedSameNumbers) {
  Generator a(42), b(42), c(43);
  const std::vector<float> x = rand({100}, {}, &a).to_vector<float>();
  EXPECT_EQ(x, rand({100}, {}, &b).to_vector<float>());
  EXPECT_NE(x, rand({100}, {}, &c).to_vector<float>());
}

TEST(Random, DrawsAdvanceTheOffsetAndSplitConsistently) {
  // Two draws of 50 give the same numbers as one draw of 100: results do not depend on how
  // the work is cut.
  Generator whole(7), parts(7);
  const std::vector<float> all = rand({100}, {}, &whole).to_vector<float>();
  std::vector<float> joined = rand({50}, {}, &parts).to_vector<float>();
  const std::vector<float> second = rand({50}, {}, &parts).to_vector<float>();
  joined.insert(joined.end(), second.begin(), second.end());
  EXPECT_EQ(all, joined);
  EXPECT_EQ(whole.offset(), 100u);
}

TEST(Random, UniformAndNormalHaveTheRightMoments) {
  Generator gen(1);
  const Tensor u = rand({200000}, TensorOptions{DType::f64}, &gen, -1.0, 3.0);
  EXPECT_NEAR(mean(u).item(), 1.0, 0.02);
  const std::vector<double> uv = u.to_vector<double>();
  EXPECT_GE(*std::min_element(uv.begin(), uv.end()), -1.0);
  EXPECT_LT(*std::max_element(uv.begin(), uv.end()), 3.0);
  const Tensor n = randn({200000}, TensorOptions{DType::f64}, &gen, 2.0, 0.5);
  const double m = mean(n).item();
  EXPECT_NEAR(m, 2.0, 0.01);
  double var = 0;
  for (const double v : n.to_vector<double>()) var += (v - m) * (v - m);
  EXPECT_NEAR(std::sqrt(var / 200000), 0.5, 0.01);
}

TEST(Random, RandintStaysInRange) {
  Generator gen(3);
  const std::vector<int64_t> v = randint(-3, 4, {10000}, TensorOptions{DType::i64}, &gen).to_vector<int64_t>();
  EXPECT_EQ(*std::min_element(v.begin(), v.end()), -3);
  EXPECT_EQ(*std::max_element(v.begin(), v.end()), 3);
  EXPECT_THROW(randint(2, 2, {1}), Error);
}

TEST(Random, ManualSeedResetsTheDefaultGenerator) {
  manual_seed(5);
  const std::vector<float> a = randn({10}).to_vector<float>();
  manual_seed(5);
  EXPECT_EQ(a, randn({10}).to_vector<float>());
}

// The CUDA kernels draw from the same Philox counters with the same arithmetic, so a generator
// state gives the same numbers on the GPU as on the host.
TEST(Random, CudaDrawsTheSameNumbersAsTheCpu) {
  KILN_SKIP_WITHOUT_CUDA();
  const TensorOptions on_cuda{DType::f32, Device::cuda(0)};
  Generator cpu_gen(11), cuda_gen(11);
  cpu_gen.set_state(11, 1000);
  cuda_gen.set_state(11, 1000);
  EXPECT_EQ(rand({4097}, {}, &cpu_gen, -2.0, 3.0).to_vector<float>(),
            rand({4097}, on_cuda, &cuda_gen, -2.0, 3.0).to_vector<float>());
  EXPECT_EQ(randint(-5, 1000, {33, 31}, TensorOptions{DType::i64}, &cpu_gen).to_vector<int64_t>(),
            randint(-5, 1000, {33, 31}, TensorOptions{DType::i64, Device::cuda(0)}, &cuda_gen)
                .to_vector<int64_t>());
  // Box-Muller runs through log and cos, whose f64 results may differ in the last bit between
  // libm and CUDA; after rounding to f32 that almost never shows.
  const std::vector<float> host = randn({4097}, {}, &cpu_gen, 1.0, 2.0).to_vector<float>();
  const std::vector<float> device = randn({4097}, on_cuda, &cuda_gen, 1.0, 2.0).to_vector<float>();
  ASSERT_EQ(host.size(), device.size());
  for (size_t i = 0; i < host.size(); ++i)
    EXPECT_NEAR(host[i], device[i], 1e-6 * (1 + std::abs(host[i])));
  EXPECT_EQ(cpu_gen.offset(), cuda_gen.offset());
  // 16-bit tensors are the f32 draw rounded.
  Generator a(3), b(3);
  EXPECT_EQ(rand({100}, {}, &a).to(DType::bf16).to_vector<float>(),
            rand({100}, TensorOptions{DType::bf16, Device::cuda(0)}, &b).to_vector<float>());
}

}  // namespace
}  // namespace kiln
