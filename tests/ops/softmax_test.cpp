#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "core/autograd.h"
#include "core/ops/softmax.h"
#include "core/random.h"
#include "tests/ops/op_harness.h"
#include "tests/test_util.h"

namespace kiln::testing {
namespace {

// Softmax or log-softmax of every last-dim row, written out in double. With `causal`, row i of
// each [Tq, Tk] block keeps keys j <= i + Tk - Tq; a row with none kept is 0 (log: -inf).
RefTensor ref_softmax(const RefTensor& x, bool causal, bool log) {
  RefTensor y(x.shape);
  const int64_t cols = x.shape.back();
  const int64_t tq = causal ? x.shape[x.shape.size() - 2] : 1;
  const double masked = log ? -std::numeric_limits<double>::infinity() : 0.0;
  for (int64_t r = 0; r < x.numel() / std::max<int64_t>(cols, 1); ++r) {
    const int64_t i = r % tq;
    auto kept = [&](int64_t j) { return !causal || j <= i + cols - tq; };
    double max = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < cols; ++j)
      if (kept(j)) max = std::max(max, x.data[static_cast<size_t>(r * cols + j)]);
    double sum = 0.0;
    for (int64_t j = 0; j < cols; ++j)
      if (kept(j)) sum += std::exp(x.data[static_cast<size_t>(r * cols + j)] - max);
    for (int64_t j = 0; j < cols; ++j) {
      const double v = x.data[static_cast<size_t>(r * cols + j)];
      double& out = y.data[static_cast<size_t>(r * cols + j)];
      if (!kept(j))
        out = masked;
      else
        out = log ? v - max - std::log(sum) : std::exp(v - max) / sum;
    }
  }
  return y;
}

OpCase softmax_case(const Shape& shape, bool causal, bool log) {
  OpCase c;
  c.name =
      std::string(log ? "log_softmax" : "softmax") + (causal ? "_causal" : "") + shape_name(shape);
  // Wide inputs make some probabilities tiny, which f32 must still get right.
  c.inputs = {InputSpec::real(shape, -4.0, 4.0)};
  c.op = [causal, log](const std::vector<Tensor>& in) {
    return log ? log_softmax(in[0], causal) : softmax(in[0], causal);
  };
  c.reference = [causal, log](const std::vector<RefTensor>& in) {
    return ref_softmax(in[0], causal, log);
  };
  // Masked log-probabilities are a constant -inf: finite differences of a weighted sum of them
  // are NaN, so that gradient has its own test below.
  c.check_gradients = shape_numel(shape) <= 300 && !(causal && log);
  return c;
}

std::vector<OpCase> softmax_cases() {
  std::vector<OpCase> cases;
  for (const bool log : {false, true}) {
    for (const int64_t rows : {1, 7, 33})
      for (const int64_t cols : {1, 31, 32, 33})
        cases.push_back(softmax_case({rows, cols}, false, log));
    cases.push_back(softmax_case({2, 3, 7}, false, log));
    // Causal with Tq == Tk, Tq < Tk (a query block after a cached prefix), batched blocks, and
    // Tq > Tk, where the first queries see no key at all.
    for (const Shape& shape : std::vector<Shape>{
             {1, 1}, {7, 7}, {33, 33}, {1, 32}, {7, 31}, {7, 33}, {2, 3, 7, 7}, {2, 5, 9}, {7, 3}})
      cases.push_back(softmax_case(shape, true, log));
    cases.push_back(softmax_case({3, 4097}, false, log));
    cases.push_back(softmax_case({5, 4097}, true, log));
  }
  return cases;
}

KILN_OP_CASES(Softmax, softmax_cases());

TEST(Softmax, CausalLogSoftmaxGradientMatchesFiniteDifferences) {
  // The objective is Σ w·y over the unmasked outputs; the masked ones are constant, so their
  // (nonzero) weights must not leak into the gradient.
  const Shape shape{2, 4, 6};
  const Tensor x0 = random_tensor(shape, 11, DType::f64, -3.0, 3.0);
  const Tensor w = random_tensor(shape, 12, DType::f64, -3.0, 3.0);
  Tensor x = x0.detach().clone().set_requires_grad(true);
  log_softmax(x, true).backward(w);
  const std::vector<double> grad = x.grad().to_vector<double>();
  const std::vector<double> wv = w.to_vector<double>();
  auto objective = [&](const std::vector<double>& xs) {
    const std::vector<double> y = log_softmax(from_vector(xs, shape), true).to_vector<double>();
    double total = 0.0;
    for (size_t i = 0; i < y.size(); ++i)
      if (std::isfinite(y[i])) total += wv[i] * y[i];
    return total;
  };
  std::vector<double> xs = x0.to_vector<double>(), numeric(xs.size());
  const double h = 1e-6;
  for (size_t i = 0; i < xs.size(); ++i) {
    std::vector<double> up = xs, down = xs;
    up[i] += h;
    down[i] -= h;
    numeric[i] = (objective(up) - objective(down)) / (2 * h);
  }
  EXPECT_LE(relative_error(grad, numeric), 1e-7);
}

TEST(Softmax, FullyMaskedRowsAreZeroWithZeroGradient) {
  // Tk < Tq: query i sees keys j <= i - 3, so queries 0..2 see none.
  Tensor x = random_tensor({5, 2}, 13, DType::f64, -3.0, 3.0).set_requires_grad(true);
  const Tensor y = softmax(x, true);
  const std::vector<double> v = y.to_vector<double>();
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(v[i], 0.0);
  EXPECT_NEAR(v[6], 1.0, 1e-15);  // query 3 sees key 0 only
  EXPECT_EQ(v[7], 0.0);
  const std::vector<double> lv = log_softmax(x, true).to_vector<double>();
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(lv[i], -std::numeric_limits<double>::infinity());
  y.backward(random_tensor({5, 2}, 14, DType::f64, -3.0, 3.0));
  const std::vector<double> g = x.grad().to_vector<double>();
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(g[i], 0.0) << i;
}

TEST(Softmax, LargeRowsStayAccurateInF32) {
  // The vectorised exp against double: 4096 x 4096 would be the benchmark shape; a slice of it
  // keeps the test quick.
  const Tensor x = random_tensor({64, 4096}, 15, DType::f32, -3.0, 3.0);
  for (const bool log : {false, true}) {
    const Tensor y = log ? log_softmax(x) : softmax(x);
    const Tensor y64 = log ? log_softmax(x.to(DType::f64)) : softmax(x.to(DType::f64));
    EXPECT_LE(relative_error(y.to_vector<double>(), y64.to_vector<double>()), 1e-6);
  }
}

TEST(Softmax, ExtremeInputs) {
  // Large logits do not overflow; -inf logits get probability 0.
  const double inf = std::numeric_limits<double>::infinity();
  for (const DType dtype : {DType::f32, DType::f64}) {
    const Tensor x =
        from_vector(std::vector<double>{1000.0, 999.0, -inf, -1000.0}, {1, 4}).to(dtype);
    const std::vector<double> y = softmax(x).to_vector<double>();
    EXPECT_NEAR(y[0], 1.0 / (1.0 + std::exp(-1.0)), 1e-6);
    EXPECT_NEAR(y[1], std::exp(-1.0) / (1.0 + std::exp(-1.0)), 1e-6);
    EXPECT_EQ(y[2], 0.0);
    EXPECT_EQ(y[3], 0.0);
    const std::vector<double> ly = log_softmax(x).to_vector<double>();
    EXPECT_EQ(ly[2], -inf);
    EXPECT_NEAR(ly[3], -2000.0 - std::log1p(std::exp(-1.0)), 1e-3);
  }
}

TEST(Softmax, BadInputsNameTheOp) {
  expect_error([] { softmax(zeros({5}), true); }, "[softmax] causal masking needs");
  expect_error([] { log_softmax(zeros({5}), true); }, "[log_softmax] causal masking needs");
  expect_error([] { softmax(zeros({2, 3}, TensorOptions{DType::i64})); }, "[softmax]");
  expect_error([] { log_softmax(zeros({})); }, "[log_softmax] input is a scalar");
}

}  // namespace
}  // namespace kiln::testing
