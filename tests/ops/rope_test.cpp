#include <cmath>
#include <string>

#include "core/autograd.h"
#include "core/ops/rope.h"
#include "core/random.h"
#include "tests/ops/op_harness.h"

namespace kiln::testing {
namespace {

// transformers' formulation, spelled out: x · cos + rotate_half(x) · sin with [T, D] tables
// whose rows repeat the D/2 angles twice, and rotate_half([x1, x2]) = [-x2, x1].
RefTensor ref_rope(const RefTensor& x, const RefTensor& cos, const RefTensor& sin, int64_t start,
                   int64_t time_dim) {
  RefTensor y(x.shape);
  const int64_t d = x.shape.back(), half = d / 2;
  const int64_t t_dim = time_dim < 0 ? time_dim + x.dim() : time_dim;
  for (int64_t e = 0; e < x.numel(); ++e) {
    std::vector<int64_t> index = unravel(e, x.shape);
    const int64_t p = start + index[static_cast<size_t>(t_dim)];
    const int64_t i = index.back();
    const double c = cos.at({p, i % half});
    const double s = sin.at({p, i % half});
    std::vector<int64_t> partner = index;
    partner.back() = i < half ? i + half : i - half;
    const double rotated = i < half ? -x.at(partner) : x.at(partner);
    y.data[static_cast<size_t>(e)] = x.data[static_cast<size_t>(e)] * c + rotated * s;
  }
  return y;
}

std::string shape_name(const Shape& shape) {
  std::string name;
  for (const int64_t s : shape) name += fmt::format("_{}", s);
  return name;
}

// Random tables: the op is linear in x for any values, so the forward and its transpose (the
// backward) are checked without relying on cos² + sin² = 1.
OpCase rope_case(const Shape& shape, int64_t start, int64_t time_dim) {
  OpCase c;
  c.name = fmt::format("rope{}_start{}_t{}", shape_name(shape), start, time_dim < 0 ? "m2" : "1");
  const int64_t t_dim = time_dim < 0 ? time_dim + static_cast<int64_t>(shape.size()) : time_dim;
  const int64_t positions = start + shape[static_cast<size_t>(t_dim)] + 2;
  const int64_t half = shape.back() / 2;
  c.inputs = {InputSpec::real(shape), InputSpec::constant({positions, half}),
              InputSpec::constant({positions, half})};
  c.op = [start, time_dim](const std::vector<Tensor>& in) {
    return rope(in[0], in[1], in[2], start, time_dim);
  };
  c.reference = [start, time_dim](const std::vector<RefTensor>& in) {
    return ref_rope(in[0], in[1], in[2], start, time_dim);
  };
  c.check_gradients = shape_numel(shape) <= 400;
  return c;
}

std::vector<OpCase> rope_cases() {
  std::vector<OpCase> cases;
  for (const int64_t start : {0, 5}) {
    cases.push_back(rope_case({1, 1, 1, 2}, start, -2));
    cases.push_back(rope_case({2, 3, 7, 8}, start, -2));
    cases.push_back(rope_case({2, 7, 3, 8}, start, 1));
    cases.push_back(rope_case({1, 2, 33, 64}, start, -2));
  }
  cases.push_back(rope_case({3, 5, 6}, 0, -2));
  cases.push_back(rope_case({2, 4, 31, 128}, 3, 1));
  return cases;
}

KILN_OP_CASES(Rope, rope_cases());

// inv_freq of the plain Llama schedule: theta^(-2i / D).
std::vector<double> llama_inv_freq(int64_t dim, double theta) {
  std::vector<double> f;
  for (int64_t i = 0; i < dim / 2; ++i)
    f.push_back(std::pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(dim)));
  return f;
}

TEST(Rope, TablesFromThetaMatchANaiveReference) {
  const int64_t dim = 16, time = 11, start = 4;
  const auto inv_freq = llama_inv_freq(dim, 10000.0);
  const auto [cos, sin] = rope_tables(inv_freq, start + time);
  Generator gen(7);
  const Tensor x = rand({2, 3, time, dim}, TensorOptions{DType::f64}, &gen, -1.0, 1.0);
  const std::vector<double> got = rope(x, cos, sin, start).to_vector<double>();
  // Angles and the rotation in double straight from theta.
  const std::vector<double> xs = x.to_vector<double>();
  std::vector<double> want(xs.size());
  for (size_t e = 0; e < xs.size(); ++e) {
    const int64_t i = static_cast<int64_t>(e) % dim;
    const int64_t t = (static_cast<int64_t>(e) / dim) % time;
    const double angle = static_cast<double>(start + t) * inv_freq[static_cast<size_t>(i % 8)];
    const double partner = i < 8 ? -xs[e + 8] : xs[e - 8];
    want[e] = xs[e] * std::cos(angle) + partner * std::sin(angle);
  }
  // The tables are f32: one rounding of each cos/sin.
  EXPECT_LT(relative_error(got, want), 1e-7);
}

TEST(Rope, InverseUndoesTheRotationAndIsTheBackward) {
  const auto [cos, sin] = rope_tables(llama_inv_freq(8, 500000.0), 20);
  Generator gen(8);
  Tensor x = rand({2, 2, 9, 8}, TensorOptions{DType::f64}, &gen, -1.0, 1.0).set_requires_grad(true);
  const Tensor y = rope(x, cos.to(DType::f64), sin.to(DType::f64), 6);
  const std::vector<double> back =
      rope_inverse(y.detach(), cos.to(DType::f64), sin.to(DType::f64), 6).to_vector<double>();
  // The f32-rounded tables have cos² + sin² = 1 only to f32 precision.
  EXPECT_LT(relative_error(back, x.to_vector<double>()), 1e-7);
  const Tensor g = rand(y.shape(), TensorOptions{DType::f64}, &gen, -1.0, 1.0);
  y.backward(g);
  EXPECT_LT(relative_error(
                x.grad().to_vector<double>(),
                rope_inverse(g, cos.to(DType::f64), sin.to(DType::f64), 6).to_vector<double>()),
            1e-15);
  // A rotation keeps each vector's norm.
  double nx = 0, ny = 0;
  for (const double v : x.to_vector<double>()) nx += v * v;
  for (const double v : y.to_vector<double>()) ny += v * v;
  EXPECT_NEAR(nx, ny, 1e-7 * nx);
}

TEST(Rope, BadArgumentsNameTheOp) {
  const auto [cos, sin] = rope_tables(llama_inv_freq(8, 10000.0), 10);
  expect_error([&] { rope(zeros({1, 2, 4, 7}), cos, sin); }, "[rope] head dim 7");
  expect_error(
      [&] {
        rope(zeros({1, 2, 4, 16}), cos, sin);
      },
      "[rope] cos has shape [10, 4], expected [>= 4, 8]");
  expect_error(
      [&] {
        rope(zeros({1, 2, 8, 8}), cos, sin, 3);
      },
      "[rope] cos has shape [10, 4], expected [>= 11, 4] (positions 3..10");
  expect_error([&] { rope(zeros({1, 2, 8, 8}, TensorOptions{DType::i32}), cos, sin); }, "[rope]");
  expect_error([&] { rope(zeros({8}), cos, sin); }, "[rope] input has shape [8]");
  expect_error([&] { rope(zeros({2, 8}), cos, sin, 0, -1); }, "[rope] time_dim -1");
}

}  // namespace
}  // namespace kiln::testing
