#include <cmath>
#include <functional>
#include <string>

#include "core/autograd.h"
#include "core/ops/loss.h"
#include "core/random.h"
#include "tests/ops/op_harness.h"
#include "tests/test_util.h"

namespace kiln::testing {
namespace {

// Mean over rows whose target is not `ignore` of log Σ_j exp(x_j) - x_target; 0 when none count.
RefTensor ref_cross_entropy(const RefTensor& logits, const RefTensor& targets, double ignore) {
  const int64_t cols = logits.shape.back();
  double total = 0.0;
  int64_t count = 0;
  for (int64_t r = 0; r < targets.numel(); ++r) {
    const double t = targets.data[static_cast<size_t>(r)];
    if (t == ignore) continue;
    const double* row = logits.data.data() + r * cols;
    double sum = 0.0;
    for (int64_t j = 0; j < cols; ++j) sum += std::exp(row[j]);
    total += std::log(sum) - row[static_cast<int64_t>(t)];
    ++count;
  }
  RefTensor out(Shape{});
  out.data[0] = count > 0 ? total / static_cast<double>(count) : 0.0;
  return out;
}

// Targets are drawn from [0, C]; the value C stands for "ignored". With `default_ignore` the op
// lambda maps C to -100 (the default ignore_index) and the reference treats C as ignored.
OpCase cross_entropy_case(const Shape& shape, bool default_ignore, bool gradients = true) {
  OpCase c;
  const int64_t classes = shape.back();
  const Shape rows(shape.begin(), shape.end() - 1);
  c.name =
      std::string("cross_entropy") + (default_ignore ? "_default_ignore" : "") + shape_name(shape);
  c.inputs = {InputSpec::real(shape, -3.0, 3.0), InputSpec::index(rows, classes + 1)};
  c.op = [classes, default_ignore](const std::vector<Tensor>& in) {
    if (!default_ignore) return cross_entropy(in[0], in[1], classes);
    std::vector<int64_t> targets = in[1].to_vector<int64_t>();
    for (int64_t& t : targets)
      if (t == classes) t = -100;
    // Built on the host: the op must see it on the logits' device, as a user's would be.
    return cross_entropy(in[0], from_vector(targets, in[1].shape()).to(in[1].device()));
  };
  c.reference = [classes](const std::vector<RefTensor>& in) {
    return ref_cross_entropy(in[0], in[1], static_cast<double>(classes));
  };
  c.check_gradients = gradients;
  c.f32_output = true;
  return c;
}

std::vector<OpCase> loss_cases() {
  std::vector<OpCase> cases;
  for (const Shape& shape :
       std::vector<Shape>{{1, 1}, {1, 7}, {7, 31}, {5, 32}, {7, 33}, {33, 7}, {2, 3, 7}, {9}})
    cases.push_back(cross_entropy_case(shape, false));
  cases.push_back(cross_entropy_case({2, 4, 5}, true));
  cases.push_back(cross_entropy_case({6, 33}, true));
  cases.push_back(cross_entropy_case({4, 4097}, false, false));
  cases.push_back(cross_entropy_case({3, 17, 4097}, true, false));
  return cases;
}

KILN_OP_CASES(Loss, loss_cases());

Tensor random_logits(const Shape& shape, uint64_t seed, DType dtype = DType::f64) {
  Generator gen(seed);
  return rand(shape, TensorOptions{dtype}, &gen, -2.0, 2.0);
}

TEST(Loss, AllIgnoredGivesZeroLossAndZeroGradient) {
  for (const DType dtype : {DType::f32, DType::f64}) {
    Tensor logits = random_logits({3, 5}, 31, dtype).set_requires_grad(true);
    const Tensor targets = full({3}, -100.0, TensorOptions{DType::i64});
    const Tensor loss = cross_entropy(logits, targets);
    EXPECT_EQ(loss.shape(), Shape{});
    EXPECT_EQ(loss.item(), 0.0);
    loss.backward();
    for (const double g : logits.grad().to_vector<double>()) EXPECT_EQ(g, 0.0);
  }
}

// docs/ops.md's contract, the same on every device: the loss of 16-bit logits is f32, and their
// gradient has their dtype.
TEST(Loss, HalfLogitsGiveAnF32Loss) {
  const std::vector<Device> devices = cuda_available()
                                          ? std::vector<Device>{Device::cpu(), Device::cuda(0)}
                                          : std::vector<Device>{Device::cpu()};
  const Tensor targets = from_vector(std::vector<int64_t>{3, 0, -100, 6}, {4});
  for (const Device device : devices) {
    for (const DType dtype : {DType::bf16, DType::f16}) {
      Tensor logits = random_logits({4, 7}, 34, DType::f32).to(dtype).to(device).detach();
      logits.set_requires_grad(true);
      const Tensor loss = cross_entropy(logits, targets.to(device));
      EXPECT_EQ(loss.dtype(), DType::f32) << dtype_name(dtype) << " on " << device.str();
      const double expected =
          cross_entropy(logits.detach().to(Device::cpu()).to(DType::f32), targets).item();
      EXPECT_NEAR(loss.item(), expected, 1e-6 * std::abs(expected));
      loss.backward();
      EXPECT_EQ(logits.grad().dtype(), dtype);
      EXPECT_EQ(logits.grad().device(), device);
    }
  }
}

TEST(Loss, GradientIsSoftmaxMinusOneHotOverCount) {
  Tensor logits = random_logits({3, 4}, 32).set_requires_grad(true);
  const Tensor targets = from_vector(std::vector<int32_t>{2, -1, 0}, {3});
  cross_entropy(logits, targets, -1).backward();
  const std::vector<double> x = logits.detach().to_vector<double>();
  const std::vector<double> g = logits.grad().to_vector<double>();
  const int64_t target[3] = {2, -1, 0};
  for (int64_t r = 0; r < 3; ++r) {
    double sum = 0.0;
    for (int64_t j = 0; j < 4; ++j) sum += std::exp(x[static_cast<size_t>(r * 4 + j)]);
    for (int64_t j = 0; j < 4; ++j) {
      const auto i = static_cast<size_t>(r * 4 + j);
      const double expected =
          target[r] < 0 ? 0.0 : (std::exp(x[i]) / sum - (j == target[r] ? 1.0 : 0.0)) / 2.0;
      EXPECT_NEAR(g[i], expected, 1e-14) << r << ", " << j;
    }
  }
}

TEST(Loss, Int32AndInt64TargetsAgree) {
  const Tensor logits = random_logits({4, 6}, 33, DType::f32);
  const std::vector<int64_t> t64{5, 0, 3, 3};
  const std::vector<int32_t> t32{5, 0, 3, 3};
  EXPECT_EQ(cross_entropy(logits, from_vector(t64, {4})).item(),
            cross_entropy(logits, from_vector(t32, {4})).item());
}

TEST(Loss, LargeLogitsDoNotOverflow) {
  const Tensor logits = from_vector(std::vector<float>{1000.0f, 0.0f, -1000.0f}, {1, 3});
  const Tensor targets = from_vector(std::vector<int64_t>{1}, {1});
  EXPECT_NEAR(cross_entropy(logits, targets).item(), 1000.0, 1e-3);
}

TEST(Loss, BadTargetsNameTheValue) {
  const Tensor logits = zeros({3, 5});
  expect_error(
      [&] {
        cross_entropy(logits, from_vector(std::vector<int64_t>{0, 5, 1}, {3}));
      },
      "[cross_entropy] target 5 at position 1 is out of range [0, 5)");
  expect_error(
      [&] {
        cross_entropy(logits, from_vector(std::vector<int32_t>{0, 1, -3}, {3}));
      },
      "[cross_entropy] target -3 at position 2");
  // -100 is only special when it is the ignore_index.
  expect_error(
      [&] {
        cross_entropy(logits, from_vector(std::vector<int64_t>{0, -100, 1}, {3}), 7);
      },
      "target -100");
  expect_error(
      [&] {
        cross_entropy(logits, zeros({3, 1}, TensorOptions{DType::i64}));
      },
      "[cross_entropy] targets have shape [3, 1], expected [3]");
  expect_error([&] { cross_entropy(logits, zeros({3})); },
               "[cross_entropy] targets have dtype f32, expected i32 or i64");
  expect_error(
      [&] {
        cross_entropy(zeros({3, 5}, TensorOptions{DType::i64}),
                      zeros({3}, TensorOptions{DType::i64}));
      },
      "[cross_entropy] logits");
}

}  // namespace
}  // namespace kiln::testing
