#include <array>
#include <functional>
#include <string>

#include "core/autograd.h"
#include "core/ops/matmul.h"
#include "core/ops/shape.h"
#include "core/random.h"
#include "tests/ops/op_harness.h"
#include "tests/test_util.h"

namespace kiln::testing {
namespace {

std::string dims_name(const Shape& shape) {
  std::string name;
  for (const int64_t s : shape) name += name.empty() ? fmt::format("{}", s) : fmt::format("x{}", s);
  return name;
}

// Element (i, j) of op(m) for the matrix at batch `b` of m [..., R, C] (b indexes the flattened
// batch dims of m itself).
double matrix_at(const RefTensor& m, int64_t b, int64_t i, int64_t j, bool transpose) {
  const int64_t rows = m.shape[m.shape.size() - 2], cols = m.shape.back();
  if (transpose) std::swap(i, j);
  return m.data[static_cast<size_t>((b * rows + i) * cols + j)];
}

// op(a) · op(b) with NumPy broadcasting of the batch dims, written out independently.
RefTensor ref_matmul(const RefTensor& a, const RefTensor& b, bool ta, bool tb) {
  const Shape a_batch(a.shape.begin(), a.shape.end() - 2);
  const Shape b_batch(b.shape.begin(), b.shape.end() - 2);
  const size_t rank = std::max(a_batch.size(), b_batch.size());
  auto padded = [rank](const Shape& s) {
    Shape p(rank - s.size(), 1);
    p.insert(p.end(), s.begin(), s.end());
    return p;
  };
  const Shape pa = padded(a_batch), pb = padded(b_batch);
  Shape batch(rank);
  for (size_t d = 0; d < rank; ++d) {
    EXPECT_TRUE(pa[d] == pb[d] || pa[d] == 1 || pb[d] == 1);
    batch[d] = std::max(pa[d], pb[d]);
  }
  const int64_t m = ta ? a.shape.back() : a.shape[a.shape.size() - 2];
  const int64_t k = ta ? a.shape[a.shape.size() - 2] : a.shape.back();
  const int64_t n = tb ? b.shape[b.shape.size() - 2] : b.shape.back();
  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  RefTensor out(out_shape);
  const int64_t count = shape_numel(batch);
  for (int64_t idx = 0; idx < count; ++idx) {
    const std::vector<int64_t> index = unravel(idx, batch);
    int64_t ia = 0, ib = 0;
    for (size_t d = 0; d < rank; ++d) {
      ia = ia * pa[d] + (pa[d] == 1 ? 0 : index[d]);
      ib = ib * pb[d] + (pb[d] == 1 ? 0 : index[d]);
    }
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double sum = 0.0;
        for (int64_t p = 0; p < k; ++p)
          sum += matrix_at(a, ia, i, p, ta) * matrix_at(b, ib, p, j, tb);
        out.data[static_cast<size_t>((idx * m + i) * n + j)] = sum;
      }
  }
  return out;
}

// The stored shape of an operand [..., R, C] that is used transposed.
Shape stored(Shape batch, int64_t rows, int64_t cols, bool transpose) {
  batch.push_back(transpose ? cols : rows);
  batch.push_back(transpose ? rows : cols);
  return batch;
}

OpCase matmul_case(const Shape& a_batch, const Shape& b_batch, int64_t m, int64_t k, int64_t n,
                   bool ta, bool tb, bool gradients = true) {
  OpCase c;
  const Shape sa = stored(a_batch, m, k, ta), sb = stored(b_batch, k, n, tb);
  c.name = "matmul_" + dims_name(sa) + (ta ? "T" : "") + "_" + dims_name(sb) + (tb ? "T" : "");
  c.inputs = {InputSpec::real(sa), InputSpec::real(sb)};
  c.op = [ta, tb](const std::vector<Tensor>& in) { return matmul(in[0], in[1], ta, tb); };
  c.reference = [ta, tb](const std::vector<RefTensor>& in) {
    return ref_matmul(in[0], in[1], ta, tb);
  };
  c.check_gradients = gradients;
  return c;
}

// Operands handed over as transposed views (stride(-2) == 1): the BLAS gets a transpose flag.
OpCase transposed_view_case(const Shape& batch, int64_t m, int64_t k, int64_t n) {
  OpCase c;
  Shape sa = batch, sb = batch;
  sa.insert(sa.end(), {k, m});
  sb.insert(sb.end(), {n, k});
  c.name = "matmul_views_" + dims_name(sa) + "_" + dims_name(sb);
  c.inputs = {InputSpec::real(sa), InputSpec::real(sb)};
  c.op = [](const std::vector<Tensor>& in) {
    return matmul(transpose(in[0], -1, -2), transpose(in[1], -1, -2));
  };
  c.reference = [](const std::vector<RefTensor>& in) {
    return ref_matmul(in[0], in[1], true, true);
  };
  return c;
}

RefTensor ref_linear(const RefTensor& x, const RefTensor& w, const RefTensor* bias) {
  const int64_t in = w.shape[1], out = w.shape[0];
  Shape shape = x.shape;
  shape.back() = out;
  RefTensor y(shape);
  for (int64_t r = 0; r < x.numel() / in; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double sum = bias != nullptr ? bias->data[static_cast<size_t>(o)] : 0.0;
      for (int64_t i = 0; i < in; ++i)
        sum += x.data[static_cast<size_t>(r * in + i)] * w.data[static_cast<size_t>(o * in + i)];
      y.data[static_cast<size_t>(r * out + o)] = sum;
    }
  return y;
}

OpCase linear_case(const Shape& x_shape, int64_t out, bool bias, bool gradients = true) {
  OpCase c;
  const int64_t in = x_shape.back();
  c.name = "linear_" + dims_name(x_shape) + "_out" + std::to_string(out) + (bias ? "_bias" : "");
  c.inputs = {InputSpec::real(x_shape), InputSpec::real({out, in})};
  if (bias) c.inputs.push_back(InputSpec::real({out}));
  c.op = [bias](const std::vector<Tensor>& in) {
    return bias ? linear(in[0], in[1], in[2]) : linear(in[0], in[1]);
  };
  c.reference = [bias](const std::vector<RefTensor>& in) {
    return ref_linear(in[0], in[1], bias ? &in[2] : nullptr);
  };
  c.check_gradients = gradients;
  return c;
}

std::vector<OpCase> matmul_cases() {
  std::vector<OpCase> cases;
  // 2-D products over sizes 1, 7, 31, 32, 33, kept to a few hundred elements per operand.
  const std::vector<std::array<int64_t, 3>> sizes = {
      {1, 1, 1}, {1, 7, 33}, {7, 33, 1}, {33, 7, 32}, {32, 9, 31}, {31, 1, 7}, {7, 7, 7}};
  for (const auto& [m, k, n] : sizes) cases.push_back(matmul_case({}, {}, m, k, n, false, false));
  for (const bool ta : {false, true})
    for (const bool tb : {false, true}) {
      cases.push_back(matmul_case({}, {}, 7, 33, 5, ta, tb));
      cases.push_back(matmul_case({3, 1}, {2}, 5, 7, 4, ta, tb));
    }
  // Broadcast batch dims, including an operand without any.
  cases.push_back(matmul_case({2, 3}, {}, 5, 7, 4, false, false));
  cases.push_back(matmul_case({2, 3}, {}, 5, 7, 4, false, true));
  cases.push_back(matmul_case({2, 3}, {}, 5, 7, 4, true, false));
  cases.push_back(matmul_case({}, {3}, 5, 7, 4, false, false));
  cases.push_back(matmul_case({}, {3}, 5, 7, 4, true, true));
  cases.push_back(matmul_case({2, 1, 3}, {4, 1}, 3, 2, 5, false, false));
  // Batched products at the sizes around a 32-wide tile, with every transpose combination.
  cases.push_back(matmul_case({2}, {2}, 33, 32, 31, true, false));
  cases.push_back(matmul_case({2}, {2}, 31, 33, 32, false, true));
  cases.push_back(matmul_case({3}, {}, 32, 31, 33, true, true));
  cases.push_back(matmul_case({2, 2}, {2, 1}, 1, 32, 33, false, false));
  cases.push_back(transposed_view_case({}, 7, 5, 33));
  cases.push_back(transposed_view_case({3}, 5, 7, 4));
  // Large enough for the BLAS's own blocking and threads: forward only.
  cases.push_back(matmul_case({}, {}, 129, 257, 65, false, false, false));
  cases.push_back(matmul_case({}, {}, 129, 257, 65, true, true, false));
  cases.push_back(matmul_case({4}, {4}, 64, 65, 66, false, true, false));

  for (const bool bias : {false, true}) {
    cases.push_back(linear_case({5, 7}, 4, bias));
    cases.push_back(linear_case({2, 3, 7}, 4, bias));
    cases.push_back(linear_case({7}, 32, bias));
    cases.push_back(linear_case({3, 1}, 33, bias));
    cases.push_back(linear_case({4, 33}, 1, bias));
  }
  cases.push_back(linear_case({2, 33, 31}, 32, true));
  cases.push_back(linear_case({3, 65, 129}, 97, true, false));
  return cases;
}

KILN_OP_CASES(Matmul, matmul_cases());

std::vector<double> values(const Tensor& t) {
  return t.to_vector<double>();
}

TEST(Matmul, TransposedViewsGiveTheResultOfTransposeFlags) {
  // Views whose last two dims are stored column-major reach the BLAS as the same call the
  // transpose flags make, so the results agree exactly.
  const Tensor a = random_tensor({2, 33, 31}, 1);  // a view of it is [2, 31, 33]
  const Tensor b = random_tensor({2, 32, 33}, 2);
  const Tensor at = Tensor::make_view(a, {2, 31, 33}, {33 * 31, 1, 31}, 0);
  const Tensor bt = Tensor::make_view(b, {2, 33, 32}, {33 * 32, 1, 33}, 0);
  EXPECT_EQ(values(matmul(at, bt)), values(matmul(a, b, true, true)));
  EXPECT_EQ(values(matmul(at, b, false, true)), values(matmul(a, b, true, true)));
  EXPECT_EQ(values(matmul(a, bt, true, false)), values(matmul(a, b, true, true)));
  // A transposed view used with a transpose flag is the stored matrix itself.
  const Tensor c = random_tensor({2, 31, 32}, 8);
  EXPECT_EQ(values(matmul(at, c, true, false)), values(matmul(a, c)));
}

TEST(Matmul, RowsWithPaddingUseTheLeadingDimension) {
  // Rows spaced further apart than their length (a slice of the last dim) need no copy; the
  // result is the product of the packed values.
  const Tensor base = random_tensor({3, 5, 12}, 3);
  const Tensor a = Tensor::make_view(base, {3, 5, 7}, {60, 12, 1}, 2);
  const Tensor b = random_tensor({7, 4}, 4);
  const Tensor packed = a.detach().contiguous();
  ASSERT_FALSE(a.is_contiguous());
  EXPECT_LE(relative_error(values(matmul(a, b)), values(matmul(packed, b))), 1e-7);
  const Tensor w = random_tensor({6, 7}, 5);
  EXPECT_LE(relative_error(values(linear(a, w)), values(linear(packed, w))), 1e-7);
}

TEST(Matmul, LinearTakesATransposedInputAndItsGradients) {
  // x [7, 5] stored column-major (stride(-2) == 1), against the same values packed.
  const Tensor stored = random_tensor({5, 7}, 9, DType::f64);
  Tensor xt = Tensor::make_view(stored, {7, 5}, {1, 7}, 0).set_requires_grad(true);
  Tensor x = xt.detach().contiguous().set_requires_grad(true);
  Tensor w1 = random_tensor({3, 5}, 10, DType::f64).set_requires_grad(true);
  Tensor w2 = w1.detach().clone().set_requires_grad(true);
  const Tensor g = random_tensor({7, 3}, 11, DType::f64);
  const Tensor y1 = linear(xt, w1), y2 = linear(x, w2);
  EXPECT_LE(relative_error(values(y1), values(y2)), 1e-14);
  y1.backward(g);
  y2.backward(g);
  EXPECT_LE(relative_error(values(xt.grad()), values(x.grad())), 1e-14);
  EXPECT_LE(relative_error(values(w1.grad()), values(w2.grad())), 1e-14);
}

TEST(Matmul, ManySmallProductsRunInParallelOverTheBatch) {
  // Small matrices and a long batch take the OpenMP-over-batch path.
  const Tensor a = random_tensor({64, 16, 12}, 12), b = random_tensor({64, 12, 20}, 13);
  const Tensor out = matmul(a, b);
  const std::vector<double> av = values(a), bv = values(b), ov = values(out);
  double worst = 0.0;
  for (int64_t i = 0; i < 64; ++i)
    for (int64_t r = 0; r < 16; ++r)
      for (int64_t c = 0; c < 20; ++c) {
        double sum = 0.0;
        for (int64_t p = 0; p < 12; ++p)
          sum += av[static_cast<size_t>((i * 16 + r) * 12 + p)] *
                 bv[static_cast<size_t>((i * 12 + p) * 20 + c)];
        worst = std::max(worst, std::abs(sum - ov[static_cast<size_t>((i * 16 + r) * 20 + c)]));
      }
  EXPECT_LE(worst, 1e-5);
}

TEST(Matmul, BroadcastBatchGradientsAreSummed) {
  Tensor a = random_tensor({5, 7}, 6, DType::f64).set_requires_grad(true);
  Tensor b = random_tensor({3, 7, 4}, 7, DType::f64).set_requires_grad(true);
  matmul(a, b).backward(ones({3, 5, 4}, TensorOptions{DType::f64}));
  // d a = Σ_batch 1 · b_iᵀ: row r of da is the sum over batches and columns of b.
  const std::vector<double> bv = values(b), da = values(a.grad());
  for (int64_t r = 0; r < 5; ++r)
    for (int64_t p = 0; p < 7; ++p) {
      double expected = 0.0;
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 4; ++j) expected += bv[static_cast<size_t>((i * 7 + p) * 4 + j)];
      EXPECT_NEAR(da[static_cast<size_t>(r * 7 + p)], expected, 1e-12);
    }
}

TEST(Matmul, EmptyInnerDimGivesZeros) {
  const Tensor out = matmul(zeros({3, 0}), zeros({0, 4}));
  EXPECT_EQ(out.shape(), (Shape{3, 4}));
  for (const double v : values(out)) EXPECT_EQ(v, 0.0);
  const Tensor with_bias = linear(zeros({2, 0}), zeros({3, 0}), full({3}, 1.5));
  for (const double v : values(with_bias)) EXPECT_EQ(v, 1.5);
}

TEST(Matmul, BadShapesNameTheOp) {
  expect_error([] { matmul(zeros({2, 3}), zeros({4, 5})); }, "[matmul]");
  expect_error([] { matmul(zeros({2, 3}), zeros({4, 5})); }, "inner dims 3 and 4");
  expect_error([] { matmul(zeros({2, 3}), zeros({2, 5}), true, true); }, "inner dims 2 and 5");
  expect_error([] { matmul(zeros({2, 2, 3}), zeros({3, 3, 5})); }, "[matmul]");
  expect_error([] { matmul(zeros({3}), zeros({3, 5})); }, "[matmul] a has shape [3]");
  expect_error(
      [] {
        matmul(zeros({2, 3}), zeros({3, 5}, TensorOptions{DType::f64}));
      },
      "[matmul] b has dtype f64, expected f32");
  expect_error([] { matmul(zeros({2, 3}, TensorOptions{DType::i64}), zeros({3, 5})); }, "[matmul]");
  expect_error(
      [] {
        linear(zeros({2, 3}), zeros({4, 5}));
      },
      "[linear] weight has shape [4, 5], expected [out, 3]");
  expect_error(
      [] {
        linear(zeros({2, 3}), zeros({4, 3}), zeros({5}));
      },
      "[linear] bias has shape [5], expected [4]");
  expect_error([] { linear(zeros({2, 3}), zeros({4, 3, 1})); }, "[linear] weight");
}

}  // namespace
}  // namespace kiln::testing

namespace kiln::testing {
namespace {

// A single row goes through BLAS's matrix-vector product: check every transpose combination,
// with the transposed operands as views whose strides the kernel must honour.
TEST(Matmul, SingleRowProductsMatchTheDefinition) {
  Generator gen(77);
  const int64_t k = 37, n = 23;
  for (const bool trans_a : {false, true})
    for (const bool trans_b : {false, true}) {
      const Tensor a_store =
          rand(trans_a ? Shape{k, 3} : Shape{1, k}, TensorOptions{DType::f64}, &gen);
      const Tensor a = trans_a ? slice(a_store, 1, 1, 2) : a_store;  // [k, 1] with stride 3
      const Tensor b = rand(trans_b ? Shape{n, k} : Shape{k, n}, TensorOptions{DType::f64}, &gen);
      const std::vector<double> out = matmul(a, b, trans_a, trans_b).to_vector<double>();
      const std::vector<double> av = a.contiguous().to_vector<double>(), bv = b.to_vector<double>();
      ASSERT_EQ(out.size(), static_cast<size_t>(n));
      for (int64_t j = 0; j < n; ++j) {
        double expected = 0;
        for (int64_t i = 0; i < k; ++i)
          expected +=
              av[static_cast<size_t>(i)] * bv[static_cast<size_t>(trans_b ? j * k + i : i * n + j)];
        EXPECT_NEAR(out[static_cast<size_t>(j)], expected, 1e-12)
            << trans_a << trans_b << " col " << j;
      }
    }
}

}  // namespace
}  // namespace kiln::testing
