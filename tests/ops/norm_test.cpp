#include <omp.h>

#include <cmath>
#include <functional>
#include <string>

#include "core/autograd.h"
#include "core/ops/norm.h"
#include "core/random.h"
#include "tests/ops/op_harness.h"
#include "tests/test_util.h"

namespace kiln::testing {
namespace {

// Layer norm (rms = false) or RMS norm of every last-dim row in double; weight/bias may be null.
RefTensor ref_norm(const RefTensor& x, const RefTensor* weight, const RefTensor* bias, double eps,
                   bool rms) {
  RefTensor y(x.shape);
  const int64_t cols = x.shape.back();
  for (int64_t r = 0; r < x.numel() / cols; ++r) {
    const double* row = x.data.data() + r * cols;
    double mean = 0.0;
    if (!rms) {
      for (int64_t j = 0; j < cols; ++j) mean += row[j];
      mean /= static_cast<double>(cols);
    }
    double var = 0.0;
    for (int64_t j = 0; j < cols; ++j) var += (row[j] - mean) * (row[j] - mean);
    var /= static_cast<double>(cols);
    const double inv = 1.0 / std::sqrt(var + eps);
    for (int64_t j = 0; j < cols; ++j) {
      double v = (row[j] - mean) * inv;
      if (weight != nullptr) v *= weight->data[static_cast<size_t>(j)];
      if (bias != nullptr) v += bias->data[static_cast<size_t>(j)];
      y.data[static_cast<size_t>(r * cols + j)] = v;
    }
  }
  return y;
}

OpCase layer_norm_case(const Shape& shape, bool weight, bool bias, double eps = 1e-5) {
  OpCase c;
  c.name = std::string("layer_norm") + (weight ? "_w" : "") + (bias ? "_b" : "") +
           (eps != 1e-5 ? "_eps" : "") + shape_name(shape);
  const int64_t cols = shape.back();
  c.inputs = {InputSpec::real(shape)};
  if (weight) c.inputs.push_back(InputSpec::real({cols}, 0.5, 1.5));
  if (bias) c.inputs.push_back(InputSpec::real({cols}));
  c.op = [weight, bias, eps](const std::vector<Tensor>& in) {
    std::optional<Tensor> w, b;
    size_t next = 1;
    if (weight) w = in[next++];
    if (bias) b = in[next++];
    return layer_norm(in[0], w, b, eps);
  };
  c.reference = [weight, bias, eps](const std::vector<RefTensor>& in) {
    size_t next = 1;
    const RefTensor* w = weight ? &in[next++] : nullptr;
    const RefTensor* b = bias ? &in[next++] : nullptr;
    return ref_norm(in[0], w, b, eps, false);
  };
  c.check_gradients = shape_numel(shape) <= 300;
  return c;
}

OpCase rms_norm_case(const Shape& shape, bool weight, double eps = 1e-6) {
  OpCase c;
  c.name = std::string("rms_norm") + (weight ? "_w" : "") + (eps != 1e-6 ? "_eps" : "") +
           shape_name(shape);
  c.inputs = {InputSpec::real(shape)};
  if (weight) c.inputs.push_back(InputSpec::real({shape.back()}, 0.5, 1.5));
  c.op = [weight, eps](const std::vector<Tensor>& in) {
    return rms_norm(in[0], weight ? std::optional<Tensor>(in[1]) : std::nullopt, eps);
  };
  c.reference = [weight, eps](const std::vector<RefTensor>& in) {
    return ref_norm(in[0], weight ? &in[1] : nullptr, nullptr, eps, true);
  };
  c.check_gradients = shape_numel(shape) <= 300;
  return c;
}

std::vector<OpCase> norm_cases() {
  std::vector<OpCase> cases;
  // Width 1 is degenerate for layer norm (the output is the bias), so widths start at 2 there.
  // At widths 1 and 2 the normalised values are ±1 whatever x is, and only eps keeps the input
  // gradient away from 0; a large eps makes it big enough to check.
  for (const bool weight : {false, true})
    for (const bool bias : {false, true}) {
      cases.push_back(layer_norm_case({1, 2}, weight, bias, 0.1));
      for (const Shape& shape : std::vector<Shape>{{5, 7}, {3, 32}, {4, 33}, {2, 3, 7}})
        cases.push_back(layer_norm_case(shape, weight, bias));
    }
  cases.push_back(layer_norm_case({3, 7}, true, true, 0.5));
  cases.push_back(layer_norm_case({3, 7}, false, false, 0.0));
  cases.push_back(layer_norm_case({3, 4097}, true, true));
  cases.push_back(layer_norm_case({33, 4097}, false, false));
  for (const bool weight : {false, true}) {
    cases.push_back(rms_norm_case({1}, weight, 0.5));
    cases.push_back(rms_norm_case({5, 1}, weight, 0.5));
    for (const Shape& shape : std::vector<Shape>{{5, 7}, {3, 32}, {4, 33}, {2, 3, 7}})
      cases.push_back(rms_norm_case(shape, weight));
  }
  cases.push_back(rms_norm_case({3, 7}, true, 0.25));
  cases.push_back(rms_norm_case({3, 4097}, true));
  return cases;
}

KILN_OP_CASES(Norm, norm_cases());

// Gradients of (x, weight, bias) for one backward with the given number of threads.
std::vector<std::vector<float>> layer_norm_grads(int threads, bool rms) {
  const int previous = omp_get_max_threads();
  omp_set_num_threads(threads);
  const Shape shape{512, 256};  // above the kernels' parallel threshold
  Tensor x = random_tensor(shape, 21).set_requires_grad(true);
  Tensor w = random_tensor({256}, 22).set_requires_grad(true);
  Tensor b = random_tensor({256}, 23).set_requires_grad(true);
  const Tensor y = rms ? rms_norm(x, w) : layer_norm(x, w, b);
  y.backward(random_tensor(shape, 24));
  omp_set_num_threads(previous);
  std::vector<std::vector<float>> grads{x.grad().to_vector<float>(), w.grad().to_vector<float>()};
  if (!rms) grads.push_back(b.grad().to_vector<float>());
  return grads;
}

TEST(Norm, ParameterGradientsDoNotDependOnThreadCount) {
  for (const bool rms : {false, true}) {
    const auto one = layer_norm_grads(1, rms);
    EXPECT_EQ(one, layer_norm_grads(3, rms));
    EXPECT_EQ(one, layer_norm_grads(8, rms));
  }
}

TEST(Norm, OnlyRequestedGradientsAreComputed) {
  // A frozen input with a trainable weight (and the reverse) take the kernel's null outputs.
  const Tensor x = random_tensor({4, 9}, 25, DType::f64);
  Tensor w = random_tensor({9}, 26, DType::f64).set_requires_grad(true);
  layer_norm(x, w, std::nullopt).sum().backward();
  ASSERT_TRUE(w.grad().defined());
  Tensor x2 = x.detach().clone().set_requires_grad(true);
  rms_norm(x2, random_tensor({9}, 27, DType::f64)).sum().backward();
  ASSERT_TRUE(x2.grad().defined());
  // d/dx Σ layer_norm(x) without weight is 0: each row's outputs sum to 0 whatever x is.
  Tensor x3 = x.detach().clone().set_requires_grad(true);
  layer_norm(x3, std::nullopt, std::nullopt).sum().backward();
  for (const double g : x3.grad().to_vector<double>()) EXPECT_NEAR(g, 0.0, 1e-12);
}

TEST(Norm, ConstantRowsAreFinite) {
  // Zero variance: eps keeps 1/std finite and the normalised row is 0.
  const Tensor x = full({2, 16}, 3.0);
  for (const double v : layer_norm(x, std::nullopt, std::nullopt).to_vector<double>())
    EXPECT_EQ(v, 0.0);
  for (const double v : rms_norm(zeros({2, 16}), std::nullopt).to_vector<double>())
    EXPECT_EQ(v, 0.0);
}

TEST(Norm, BadParametersNameTheOp) {
  expect_error(
      [] {
        layer_norm(zeros({8, 7}), zeros({5}), std::nullopt);
      },
      "[layer_norm] weight has shape [5], expected [7] (last dim of input [8, 7])");
  expect_error(
      [] {
        layer_norm(zeros({8, 7}), std::nullopt, zeros({7, 1}));
      },
      "[layer_norm] bias has shape [7, 1], expected [7]");
  expect_error(
      [] {
        layer_norm(zeros({8, 7}), zeros({7}, TensorOptions{DType::f64}), std::nullopt);
      },
      "[layer_norm] weight has dtype f64, expected f32");
  expect_error(
      [] {
        rms_norm(zeros({8, 7}), zeros({8}));
      },
      "[rms_norm] weight has shape [8], expected [7]");
  expect_error(
      [] {
        rms_norm(zeros({8, 7}, TensorOptions{DType::i32}), std::nullopt);
      },
      "[rms_norm]");
  expect_error([] { layer_norm(zeros({}), std::nullopt, std::nullopt); },
               "[layer_norm] input is a scalar");
  expect_error([] { rms_norm(zeros({3}), std::nullopt, -1.0); }, "[rms_norm] eps");
}

}  // namespace
}  // namespace kiln::testing
