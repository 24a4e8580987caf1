#include <cmath>

#include "core/ops/elementwise.h"
#include "core/ops/shape.h"
#include "tests/ops/op_harness.h"
#include "tests/require_cuda.h"

namespace kiln::testing {
namespace {

using UnaryRef = double (*)(double);

double ref_sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double ref_gelu(double x) {
  return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}

struct UnaryCase {
  const char* name;
  Tensor (*op)(const Tensor&);
  UnaryRef ref;
  double low, high;  // kept away from kinks and outside domains
};

std::vector<OpCase> unary_cases() {
  const UnaryCase ops[] = {
      {"neg", neg, [](double x) { return -x; }, -2, 2},
      {"exp", exp, [](double x) { return std::exp(x); }, -2, 2},
      {"log", log, [](double x) { return std::log(x); }, 0.2, 3},
      {"sqrt", sqrt, [](double x) { return std::sqrt(x); }, 0.2, 3},
      {"tanh", tanh, [](double x) { return std::tanh(x); }, -3, 3},
      {"sigmoid", sigmoid, ref_sigmoid, -4, 4},
      {"relu_positive", relu, [](double x) { return x > 0 ? x : 0.0; }, 0.1, 2},
      {"relu_negative", relu, [](double x) { return x > 0 ? x : 0.0; }, -2, -0.1},
      {"gelu", gelu, ref_gelu, -4, 4},
      {"silu", silu, [](double x) { return x * ref_sigmoid(x); }, -4, 4},
      {"abs", abs, [](double x) { return std::abs(x); }, 0.1, 2},
  };
  const Shape shapes[] = {{1}, {7}, {31}, {32}, {4, 33}, {2, 3, 5}};
  std::vector<OpCase> cases;
  for (const UnaryCase& u : ops) {
    for (const Shape& shape : shapes) {
      OpCase c;
      c.name = std::string(u.name) + "_" + std::to_string(shape_numel(shape)) + "_rank" +
               std::to_string(shape.size());
      c.inputs = {InputSpec::real(shape, u.low, u.high)};
      auto op = u.op;
      c.op = [op](const std::vector<Tensor>& in) { return op(in[0]); };
      auto ref = u.ref;
      c.reference = [ref](const std::vector<RefTensor>& in) { return ref_map(in[0], ref); };
      cases.push_back(std::move(c));
    }
    OpCase big;
    big.name = std::string(u.name) + "_4097_forward";
    big.inputs = {InputSpec::real({4097}, u.low, u.high)};
    auto op = u.op;
    big.op = [op](const std::vector<Tensor>& in) { return op(in[0]); };
    auto ref = u.ref;
    big.reference = [ref](const std::vector<RefTensor>& in) { return ref_map(in[0], ref); };
    big.check_gradients = false;
    cases.push_back(std::move(big));
    // A contiguous view one element into its storage: too misaligned for 16-byte packs.
    OpCase shifted;
    shifted.name = std::string(u.name) + "_4097_offset_view";
    shifted.inputs = {InputSpec::real({4098}, u.low, u.high)};
    shifted.op = [op](const std::vector<Tensor>& in) { return op(slice(in[0], 0, 1, 4098)); };
    shifted.reference = [ref](const std::vector<RefTensor>& in) {
      RefTensor tail({4097});
      tail.data.assign(in[0].data.begin() + 1, in[0].data.end());
      return ref_map(tail, ref);
    };
    shifted.check_gradients = false;
    cases.push_back(std::move(shifted));
  }
  return cases;
}

struct BinaryCase {
  const char* name;
  Tensor (*op)(const Tensor&, const Tensor&);
  double (*ref)(double, double);
  double low, high;
};

std::vector<OpCase> binary_cases() {
  const BinaryCase ops[] = {
      {"add", add, [](double a, double b) { return a + b; }, -2, 2},
      {"sub", sub, [](double a, double b) { return a - b; }, -2, 2},
      {"mul", mul, [](double a, double b) { return a * b; }, -2, 2},
      {"div", div, [](double a, double b) { return a / b; }, 0.5, 2},
      {"pow", pow, [](double a, double b) { return std::pow(a, b); }, 0.5, 2},
      {"maximum", maximum, [](double a, double b) { return std::max(a, b); }, -2, 2},
      {"minimum", minimum, [](double a, double b) { return std::min(a, b); }, -2, 2},
  };
  // Pairs that exercise broadcasting: equal shapes, a trailing vector, a column, a scalar,
  // both sides expanding, and a missing leading dim.
  const std::pair<Shape, Shape> shapes[] = {
      {{7}, {7}},       {{3, 33}, {33}},     {{4, 5}, {4, 1}},  {{2, 3}, {}},
      {{3, 1}, {1, 4}}, {{2, 3, 4}, {3, 4}}, {{1}, {2, 2, 2}},  {{32}, {32}},
      {{31}, {31}},     {{33}, {1}},         {{2, 31}, {2, 1}},
  };
  // Forward only (finite differences over thousands of inputs are slow): the sizes where
  // vectorised kernels have tails, and a bias-like broadcast.
  const std::pair<Shape, Shape> big_shapes[] = {
      {{4097}, {4097}}, {{4097}, {}}, {{33, 4097}, {4097}}, {{4097, 33}, {4097, 1}}};
  std::vector<OpCase> cases;
  for (const BinaryCase& b : ops) {
    for (const auto& [sa, sb] : shapes) {
      OpCase c;
      c.name = std::string(b.name) + "_" + std::to_string(sa.size()) + "d" +
               std::to_string(shape_numel(sa)) + "_by_" + std::to_string(sb.size()) + "d" +
               std::to_string(shape_numel(sb));
      c.inputs = {InputSpec::real(sa, b.low, b.high), InputSpec::real(sb, b.low, b.high)};
      auto op = b.op;
      c.op = [op](const std::vector<Tensor>& in) { return op(in[0], in[1]); };
      auto ref = b.ref;
      c.reference = [ref](const std::vector<RefTensor>& in) { return ref_zip(in[0], in[1], ref); };
      cases.push_back(std::move(c));
    }
    for (const auto& [sa, sb] : big_shapes) {
      OpCase c;
      c.name = std::string(b.name) + "_forward_" + std::to_string(sa.size()) + "d" +
               std::to_string(shape_numel(sa)) + "_by_" + std::to_string(sb.size()) + "d" +
               std::to_string(shape_numel(sb));
      c.inputs = {InputSpec::real(sa, b.low, b.high), InputSpec::real(sb, b.low, b.high)};
      auto op = b.op;
      c.op = [op](const std::vector<Tensor>& in) { return op(in[0], in[1]); };
      auto ref = b.ref;
      c.reference = [ref](const std::vector<RefTensor>& in) { return ref_zip(in[0], in[1], ref); };
      c.check_gradients = false;
      cases.push_back(std::move(c));
    }
  }
  return cases;
}

std::vector<OpCase> scalar_cases() {
  struct ScalarCase {
    const char* name;
    std::function<Tensor(const Tensor&)> op;
    std::function<double(double)> ref;
  };
  const ScalarCase ops[] = {
      {"add_scalar", [](const Tensor& x) { return x + 1.5; }, [](double x) { return x + 1.5; }},
      {"rsub_scalar", [](const Tensor& x) { return 2.0 - x; }, [](double x) { return 2.0 - x; }},
      {"mul_scalar", [](const Tensor& x) { return x * -3.0; }, [](double x) { return x * -3.0; }},
      {"div_scalar", [](const Tensor& x) { return x / 4.0; }, [](double x) { return x / 4.0; }},
      {"rdiv_scalar", [](const Tensor& x) { return 1.0 / x; }, [](double x) { return 1.0 / x; }},
      {"pow_scalar", [](const Tensor& x) { return pow(x, 2.5); },
       [](double x) { return std::pow(x, 2.5); }},
  };
  std::vector<OpCase> cases;
  for (const ScalarCase& s : ops) {
    OpCase c;
    c.name = s.name;
    c.inputs = {InputSpec::real({5, 7}, 0.5, 2.0)};
    auto op = s.op;
    c.op = [op](const std::vector<Tensor>& in) { return op(in[0]); };
    auto ref = s.ref;
    c.reference = [ref](const std::vector<RefTensor>& in) { return ref_map(in[0], ref); };
    cases.push_back(std::move(c));
  }
  return cases;
}

std::vector<OpCase> compare_cases() {
  struct CompareCase {
    const char* name;
    Tensor (*op)(const Tensor&, const Tensor&);
    double (*ref)(double, double);
  };
  const CompareCase ops[] = {
      {"eq", eq, [](double a, double b) { return a == b ? 1.0 : 0.0; }},
      {"ne", ne, [](double a, double b) { return a != b ? 1.0 : 0.0; }},
      {"lt", lt, [](double a, double b) { return a < b ? 1.0 : 0.0; }},
      {"le", le, [](double a, double b) { return a <= b ? 1.0 : 0.0; }},
      {"gt", gt, [](double a, double b) { return a > b ? 1.0 : 0.0; }},
      {"ge", ge, [](double a, double b) { return a >= b ? 1.0 : 0.0; }},
  };
  std::vector<OpCase> cases;
  for (const CompareCase& cc : ops) {
    OpCase c;
    c.name = std::string("compare_") + cc.name;
    // Comparing a tensor with a slice of itself makes equal elements certain to occur.
    c.inputs = {InputSpec::real({6, 5})};
    auto op = cc.op;
    c.op = [op](const std::vector<Tensor>& in) {
      return op(in[0], in[0].transpose(0, 1).reshape({6, 5}));
    };
    auto ref = cc.ref;
    c.reference = [ref](const std::vector<RefTensor>& in) {
      RefTensor other({6, 5});
      for (int64_t i = 0; i < 30; ++i) other.data[i] = in[0].at({i % 6, i / 6});
      return ref_zip(in[0], other, ref);
    };
    c.check_gradients = false;
    cases.push_back(std::move(c));
  }
  return cases;
}

KILN_OP_CASES(Unary, unary_cases());
KILN_OP_CASES(Binary, binary_cases());
KILN_OP_CASES(Scalar, scalar_cases());
KILN_OP_CASES(Compare, compare_cases());

TEST(Elementwise, MismatchedShapesNameTheOp) {
  const Tensor a = zeros({2, 3});
  const Tensor b = zeros({4});
  try {
    add(a, b);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[add]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[2, 3]"), std::string::npos) << e.what();
  }
}

TEST(Elementwise, MixedDtypesAreAnError) {
  EXPECT_THROW(mul(zeros({2}), zeros({2}, TensorOptions{DType::f64})), Error);
}

TEST(Elementwise, IntegerArithmeticWorksWithoutGradients) {
  const Tensor a = from_vector<int64_t>({1, 2, 3}, {3});
  const Tensor b = from_vector<int64_t>({10, 20, 30}, {3});
  EXPECT_EQ((a + b).to_vector<int64_t>(), (std::vector<int64_t>{11, 22, 33}));
  EXPECT_EQ(gt(b, a * a * 4).to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 0}));
  EXPECT_THROW(exp(a), Error);
}

// Index arithmetic and comparisons on CUDA give the CPU's integers.
TEST(Elementwise, CudaIntegerArithmeticAndComparisonsMatchTheCpu) {
  KILN_SKIP_WITHOUT_CUDA();
  for (const DType dtype : {DType::i32, DType::i64}) {
    const Tensor a = arange(-50, 4047, 1, TensorOptions{dtype});
    const Tensor b = arange(1, 4098, 1, TensorOptions{dtype});
    const Tensor ca = a.to(Device::cuda(0));
    const Tensor cb = b.to(Device::cuda(0));
    EXPECT_EQ((ca + cb).to_vector<int64_t>(), (a + b).to_vector<int64_t>());
    EXPECT_EQ((ca * cb).to_vector<int64_t>(), (a * b).to_vector<int64_t>());
    EXPECT_EQ((ca / cb).to_vector<int64_t>(), (a / b).to_vector<int64_t>());
    EXPECT_EQ(maximum(ca, cb).to_vector<int64_t>(), maximum(a, b).to_vector<int64_t>());
    EXPECT_EQ(lt(ca, cb * 0 + 7).to_vector<int64_t>(), lt(a, b * 0 + 7).to_vector<int64_t>());
    EXPECT_EQ(eq(ca, cb - 51).to_vector<int64_t>(), eq(a, b - 51).to_vector<int64_t>());
  }
}

TEST(Elementwise, GeluMatchesGpt2Formula) {
  const Tensor x = from_vector<float>({-1.0f, 0.0f, 0.5f, 3.0f}, {4});
  const std::vector<float> y = gelu(x).to_vector<float>();
  for (size_t i = 0; i < y.size(); ++i) {
    const double v = x.to_vector<double>()[i];
    EXPECT_NEAR(y[i], ref_gelu(v), 1e-6);
  }
}

}  // namespace
}  // namespace kiln::testing
