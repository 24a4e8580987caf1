#include <gtest/gtest.h>

#include "core/autograd.h"
#include "core/ops/elementwise.h"
#include "core/ops/reduce.h"

namespace kiln {
namespace {

Tensor leaf(std::vector<double> values) {
  const int64_t n = static_cast<int64_t>(values.size());
  Tensor t = from_vector(values, {n});
  t.set_requires_grad(true);
  return t;
}

TEST(Autograd, GradientsAccumulateAcrossBackwardCalls) {
  Tensor x = leaf({1, 2, 3});
  sum(x * x).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{2, 4, 6}));
  sum(x * 3.0).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{5, 7, 9}));
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, SharedSubexpressionsSumTheirPaths) {
  // y = a * a + a: the gradient through both uses of `a` adds up to 2a + 1.
  Tensor x = leaf({1, -2});
  const Tensor a = x * 2.0;
  sum(a * a + a).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{2 * (2 * 2 + 1), 2 * (2 * -4 + 1)}));
}

TEST(Autograd, NoGradGuardStopsRecording) {
  Tensor x = leaf({1});
  {
    NoGradGuard guard;
    const Tensor y = x * 2.0;
    EXPECT_FALSE(y.requires_grad());
    EXPECT_TRUE(y.is_leaf());
  }
  EXPECT_TRUE((x * 2.0).requires_grad());
}

TEST(Autograd, DetachCutsTheGraphButSharesData) {
  Tensor x = leaf({1, 2});
  const Tensor d = (x * 2.0).detach();
  EXPECT_FALSE(d.requires_grad());
  sum(x * d).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{2, 4}));
}

TEST(Autograd, BackwardWithoutGradIsAClearError) {
  const Tensor x = from_vector<double>({1, 2}, {2});
  try {
    sum(x * 2.0).backward();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not require grad"), std::string::npos);
  }
}

TEST(Autograd, NonDifferentiablePathIsAnError) {
  // argmax and comparisons do not carry gradients, so nothing downstream can backpropagate.
  Tensor x = leaf({1, 5, 2});
  EXPECT_THROW(sum(gt(x, x * 0.5).to(DType::f64)).backward(), Error);
  EXPECT_THROW(argmax(x, 0).to(DType::f64).backward(), Error);
}

TEST(Autograd, NonScalarBackwardNeedsAGradient) {
  Tensor x = leaf({1, 2});
  const Tensor y = x * 3.0;
  EXPECT_THROW(y.backward(), Error);
  y.backward(from_vector<double>({1, 10}, {2}));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{3, 30}));
  EXPECT_THROW(y.backward(zeros({3}, TensorOptions{DType::f64})), Error);
}

TEST(Autograd, OnlyFloatingLeavesCanRequireGrad) {
  Tensor ids = from_vector<int64_t>({1, 2}, {2});
  EXPECT_THROW(ids.set_requires_grad(true), Error);
  Tensor x = leaf({1});
  const Tensor y = x * 2.0;
  Tensor non_leaf = y;
  EXPECT_THROW(non_leaf.set_requires_grad(false), Error);
}

TEST(Autograd, DeepChainsDoNotOverflowTheStack) {
  Tensor x = leaf({1});
  Tensor y = x;
  for (int i = 0; i < 20000; ++i) y = y + 1.0;
  sum(y).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{1}));
}

TEST(Autograd, GradientFlowsThroughDtypeConversion) {
  Tensor x = leaf({1.5, -2});
  sum(x.to(DType::f32) * 2.0).backward();
  EXPECT_EQ(x.grad().dtype(), DType::f64);
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{2, 2}));
}

}  // namespace
}  // namespace kiln
