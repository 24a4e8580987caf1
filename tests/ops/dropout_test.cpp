#include <cmath>

#include "core/autograd.h"
#include "core/ops/dropout.h"
#include "core/random.h"
#include "kernels/philox.h"
#include "tests/ops/op_harness.h"
#include "tests/require_cuda.h"

namespace kiln::testing {
namespace {

constexpr uint64_t kSeed = 20240520;

// Element i survives when the top 24 bits of Philox word 0 at counter `offset + i`, as a
// fraction of 2^24, reach p (compared in f32, as the op defines it).
bool kept(uint64_t seed, uint64_t counter, double p) {
  const uint32_t bits = kernels::philox4x32(seed, counter).v[0];
  return static_cast<double>(bits >> 8) / 16777216.0 >= static_cast<double>(static_cast<float>(p));
}

RefTensor ref_dropout(const RefTensor& x, double p, uint64_t seed, uint64_t offset) {
  RefTensor out(x.shape);
  for (int64_t i = 0; i < x.numel(); ++i) {
    const auto k = static_cast<size_t>(i);
    out.data[k] = kept(seed, offset + static_cast<uint64_t>(i), p) ? x.data[k] / (1.0 - p) : 0.0;
  }
  return out;
}

OpCase dropout_case(Shape shape, double p, uint64_t offset, bool gradients = true) {
  OpCase c;
  c.name = fmt::format("dropout_p{}_{}_rank{}_offset{}", static_cast<int>(p * 100),
                       shape_numel(shape), shape.size(), offset);
  c.inputs = {InputSpec::real(std::move(shape))};
  // A fresh generator per call keeps the op a deterministic function of its input, which the
  // finite differences need.
  c.op = [p, offset](const std::vector<Tensor>& in) {
    Generator gen(kSeed);
    gen.set_state(kSeed, offset);
    return dropout(in[0], p, true, &gen);
  };
  c.reference = [p, offset](const std::vector<RefTensor>& in) {
    return ref_dropout(in[0], p, kSeed, offset);
  };
  c.check_gradients = gradients;
  return c;
}

std::vector<OpCase> dropout_cases() {
  std::vector<OpCase> cases;
  for (const double p : {0.1, 0.5, 0.9}) {
    cases.push_back(dropout_case({1}, p, 0));
    cases.push_back(dropout_case({7}, p, 0));
    cases.push_back(dropout_case({4, 33}, p, 0));
    cases.push_back(dropout_case({2, 3, 5}, p, 12345));
    cases.push_back(dropout_case({4097}, p, 99, false));
  }
  cases.push_back(dropout_case({33, 4097}, 0.25, 1ull << 40, false));
  return cases;
}

KILN_OP_CASES(Dropout, dropout_cases());

std::vector<uint8_t> mask_of(const Tensor& out) {
  std::vector<uint8_t> mask;
  for (const double v : out.to_vector<double>()) mask.push_back(v != 0.0 ? 1 : 0);
  return mask;
}

TEST(Dropout, KeepsAboutOneMinusPAndScalesTheKept) {
  const int64_t n = 100000;
  const Tensor x = ones({n});
  for (const double p : {0.1, 0.3, 0.75}) {
    Generator gen(kSeed);
    const std::vector<float> out = dropout(x, p, true, &gen).to_vector<float>();
    int64_t kept_count = 0;
    for (const float v : out) {
      if (v == 0.0f) continue;
      ++kept_count;
      EXPECT_FLOAT_EQ(v, static_cast<float>(1.0 / (1.0 - p)));
    }
    // The binomial standard deviation is below 0.0015 of n; 0.01 is more than six of them.
    EXPECT_NEAR(static_cast<double>(kept_count) / static_cast<double>(n), 1.0 - p, 0.01);
    EXPECT_EQ(gen.offset(), static_cast<uint64_t>(n));
  }
}

TEST(Dropout, SameSeedAndOffsetGiveTheSameMask) {
  const Tensor x = ones({1000});
  Generator a(42), b(42);
  EXPECT_EQ(mask_of(dropout(x, 0.5, true, &a)), mask_of(dropout(x, 0.5, true, &b)));
  Generator c(43);
  EXPECT_NE(mask_of(dropout(x, 0.5, true, &a)), mask_of(dropout(x, 0.5, true, &c)));
}

TEST(Dropout, ConsecutiveCallsUseFreshCounters) {
  const Tensor x = ones({1000});
  Generator gen(42);
  const std::vector<uint8_t> first = mask_of(dropout(x, 0.5, true, &gen));
  EXPECT_EQ(gen.offset(), 1000u);
  const std::vector<uint8_t> second = mask_of(dropout(x, 0.5, true, &gen));
  EXPECT_NE(first, second);
  Generator replay(42);
  replay.set_state(42, 1000);
  EXPECT_EQ(mask_of(dropout(x, 0.5, true, &replay)), second);
}

TEST(Dropout, DefaultGeneratorFollowsManualSeed) {
  const Tensor x = ones({500});
  manual_seed(11);
  const std::vector<uint8_t> first = mask_of(dropout(x, 0.4, true));
  manual_seed(11);
  EXPECT_EQ(mask_of(dropout(x, 0.4, true)), first);
}

TEST(Dropout, EvalModeAndZeroPAreTheIdentity) {
  Tensor x = from_vector<float>({1, 2, 3}, {3});
  x.set_requires_grad(true);
  Generator gen(1);
  EXPECT_TRUE(dropout(x, 0.5, false, &gen).same(x));
  EXPECT_TRUE(dropout(x, 0.0, true, &gen).same(x));
  EXPECT_EQ(gen.offset(), 0u);
}

TEST(Dropout, PEqualOneGivesZerosAndZeroGradients) {
  Tensor x = from_vector<double>({1, 2, 3}, {3});
  x.set_requires_grad(true);
  const Tensor out = dropout(x, 1.0, true);
  EXPECT_EQ(out.to_vector<double>(), (std::vector<double>{0, 0, 0}));
  out.backward(ones({3}, TensorOptions{DType::f64}));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0, 0, 0}));
}

TEST(Dropout, BackwardUsesTheForwardMask) {
  Tensor x = ones({200}, TensorOptions{DType::f64});
  x.set_requires_grad(true);
  Generator gen(9);
  const Tensor out = dropout(x, 0.5, true, &gen);
  out.backward(full({200}, 3.0, TensorOptions{DType::f64}));
  const std::vector<double> y = out.to_vector<double>();
  const std::vector<double> g = x.grad().to_vector<double>();
  for (size_t i = 0; i < y.size(); ++i) EXPECT_EQ(g[i], y[i] == 0.0 ? 0.0 : 6.0) << i;
}

TEST(Dropout, BadProbabilityIsAnError) {
  const Tensor x = ones({3});
  for (const double p : {-0.1, 1.5, std::nan("")}) {
    try {
      dropout(x, p, true);
      ADD_FAILURE() << "p = " << p << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("[dropout]"), std::string::npos) << e.what();
    }
  }
}

// Both devices run the same Philox test per element: the same seed and offset drop the same
// elements, and in f32 the kept values are the same bits.
TEST(Dropout, CudaDropsTheSameElementsAsTheCpu) {
  KILN_SKIP_WITHOUT_CUDA();
  Generator data_gen(1);
  const Tensor x = rand({33, 4097}, {}, &data_gen, -1.0, 1.0);
  for (const double p : {0.1, 0.5}) {
    Generator cpu_gen(kSeed), cuda_gen(kSeed);
    cpu_gen.set_state(kSeed, 77);
    cuda_gen.set_state(kSeed, 77);
    const Tensor on_cpu = dropout(x, p, true, &cpu_gen);
    const Tensor on_cuda = dropout(x.to(Device::cuda(0)), p, true, &cuda_gen);
    EXPECT_EQ(on_cuda.to_vector<float>(), on_cpu.to_vector<float>()) << "p = " << p;
    EXPECT_EQ(cuda_gen.offset(), cpu_gen.offset());
  }
  // A 16-bit input keeps the same elements too.
  Generator cpu_gen(kSeed), cuda_gen(kSeed);
  const Tensor half = ones({4097}, TensorOptions{DType::bf16, Device::cuda(0)});
  EXPECT_EQ(mask_of(dropout(half, 0.3, true, &cuda_gen)),
            mask_of(dropout(ones({4097}), 0.3, true, &cpu_gen)));
}

}  // namespace
}  // namespace kiln::testing
