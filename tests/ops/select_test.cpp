#include <cmath>
#include <limits>

#include "core/autograd.h"
#include "core/ops/select.h"
#include "tests/ops/op_harness.h"

namespace kiln::testing {
namespace {

// The index of `out_index` (in a shape broadcast from `shape`) in an operand of `shape`.
std::vector<int64_t> source_index(const std::vector<int64_t>& out_index, const Shape& shape) {
  std::vector<int64_t> index(shape.size());
  const size_t lead = out_index.size() - shape.size();
  for (size_t d = 0; d < shape.size(); ++d) index[d] = shape[d] == 1 ? 0 : out_index[lead + d];
  return index;
}

Shape broadcast3(const Shape& a, const Shape& b, const Shape& c) {
  return broadcast_shapes(broadcast_shapes(a, b, "test"), c, "test");
}

RefTensor ref_where(const RefTensor& cond, const RefTensor& a, const RefTensor& b) {
  RefTensor out(broadcast3(cond.shape, a.shape, b.shape));
  for (int64_t i = 0; i < out.numel(); ++i) {
    const std::vector<int64_t> index = unravel(i, out.shape);
    out.data[static_cast<size_t>(i)] = cond.at(source_index(index, cond.shape)) != 0.0
                                           ? a.at(source_index(index, a.shape))
                                           : b.at(source_index(index, b.shape));
  }
  return out;
}

RefTensor ref_masked_fill(const RefTensor& x, const RefTensor& mask, double value) {
  RefTensor out(x.shape);
  for (int64_t i = 0; i < out.numel(); ++i) {
    const std::vector<int64_t> index = unravel(i, out.shape);
    out.data[static_cast<size_t>(i)] =
        mask.at(source_index(index, mask.shape)) != 0.0 ? value : x.data[static_cast<size_t>(i)];
  }
  return out;
}

OpCase where_case(const std::string& name, Shape cond, Shape a, Shape b, bool u8 = false) {
  OpCase c;
  c.name = "where_" + name;
  c.inputs = {InputSpec::mask(std::move(cond)), InputSpec::real(std::move(a)),
              InputSpec::real(std::move(b), 2.0, 3.0)};
  c.op = [u8](const std::vector<Tensor>& in) {
    return where(u8 ? in[0].to(DType::u8) : in[0], in[1], in[2]);
  };
  c.reference = [](const std::vector<RefTensor>& in) { return ref_where(in[0], in[1], in[2]); };
  return c;
}

OpCase masked_fill_case(const std::string& name, Shape x, Shape mask, double value,
                        bool u8 = false) {
  OpCase c;
  c.name = "masked_fill_" + name;
  c.inputs = {InputSpec::real(std::move(x)), InputSpec::mask(std::move(mask))};
  c.op = [value, u8](const std::vector<Tensor>& in) {
    return masked_fill(in[0], u8 ? in[1].to(DType::u8) : in[1], value);
  };
  c.reference = [value](const std::vector<RefTensor>& in) {
    return ref_masked_fill(in[0], in[1], value);
  };
  return c;
}

std::vector<OpCase> select_cases() {
  std::vector<OpCase> cases;
  cases.push_back(where_case("same_1", {1}, {1}, {1}));
  cases.push_back(where_case("same_7", {7}, {7}, {7}));
  cases.push_back(where_case("same_4x33", {4, 33}, {4, 33}, {4, 33}));
  cases.push_back(where_case("cond_row", {5}, {3, 5}, {3, 5}));
  cases.push_back(where_case("a_column_b_row", {3, 4}, {3, 1}, {4}));
  cases.push_back(where_case("three_way", {2, 1, 5}, {3, 1}, {5}));
  cases.push_back(where_case("scalar_b", {2, 3}, {2, 3}, {}));
  cases.push_back(where_case("u8_condition", {4, 6}, {4, 6}, {6}, true));
  OpCase big = where_case("big_4097", {4097}, {4097}, {1});
  big.check_gradients = false;
  cases.push_back(std::move(big));

  cases.push_back(masked_fill_case("same_7", {7}, {7}, -2.5));
  cases.push_back(masked_fill_case("same_4x33", {4, 33}, {4, 33}, 0.0));
  cases.push_back(masked_fill_case("row_mask", {3, 5}, {5}, 4.0));
  cases.push_back(masked_fill_case("broadcast_mask", {2, 3, 5}, {2, 1, 5}, 1.5));
  cases.push_back(masked_fill_case("scalar_mask", {3, 4}, {}, 7.0));
  cases.push_back(masked_fill_case("u8_mask", {6, 4}, {6, 1}, -1.0, true));
  // -inf, as attention masks use it; finite differences of an infinite output make no sense.
  OpCase inf =
      masked_fill_case("neg_inf", {4, 9}, {4, 9}, -std::numeric_limits<double>::infinity());
  inf.check_gradients = false;
  cases.push_back(std::move(inf));
  OpCase big_fill = masked_fill_case("big_33x4097", {33, 4097}, {1, 4097}, 3.0);
  big_fill.check_gradients = false;
  cases.push_back(std::move(big_fill));
  return cases;
}

KILN_OP_CASES(Select, select_cases());

Tensor bool_mask(const std::vector<uint8_t>& values, const Shape& shape) {
  return from_vector(values, shape).to(DType::boolean);
}

TEST(Select, WhereGradientsAreMaskedAndSummedToEachShape) {
  Tensor a = from_vector<double>({1, 2}, {2, 1});
  Tensor b = from_vector<double>({10, 20, 30}, {3});
  a.set_requires_grad(true);
  b.set_requires_grad(true);
  const Tensor cond = bool_mask({1, 0, 1, 0, 0, 1}, {2, 3});
  const Tensor out = where(cond, a, b);
  EXPECT_EQ(out.to_vector<double>(), (std::vector<double>{1, 20, 1, 10, 20, 2}));
  out.backward(ones({2, 3}, TensorOptions{DType::f64}));
  EXPECT_EQ(a.grad().to_vector<double>(), (std::vector<double>{2, 1}));
  EXPECT_EQ(b.grad().to_vector<double>(), (std::vector<double>{1, 2, 0}));
}

TEST(Select, MaskedFillGradientIsZeroWhereFilled) {
  Tensor x = from_vector<double>({1, 2, 3, 4}, {2, 2});
  x.set_requires_grad(true);
  const Tensor out = masked_fill(x, bool_mask({0, 1}, {2}), -9.0);
  EXPECT_EQ(out.to_vector<double>(), (std::vector<double>{1, -9, 3, -9}));
  out.backward(from_vector<double>({5, 6, 7, 8}, {2, 2}));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{5, 0, 7, 0}));
}

TEST(Select, BadArgumentsNameTheOp) {
  const Tensor x = zeros({2, 3});
  const Tensor cond = bool_mask({1, 0, 1}, {3});
  expect_error([&] { where(zeros({3}), x, x); }, "[where]");
  expect_error([&] { where(cond, x, zeros({2, 3}, TensorOptions{DType::f64})); }, "[where]");
  expect_error([&] { where(bool_mask({1, 0}, {2}), x, x); }, "[where]");
  expect_error([&] { masked_fill(x, zeros({3}), 1.0); }, "[masked_fill]");
  expect_error(
      [&] {
        masked_fill(zeros({3}), bool_mask({1, 0, 1, 1, 0, 1}, {2, 3}), 1.0);
      },
      "[masked_fill]");
  expect_error([&] { masked_fill(x, bool_mask({1, 0}, {2}), 1.0); }, "[masked_fill]");
}

}  // namespace
}  // namespace kiln::testing
