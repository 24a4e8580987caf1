#include <omp.h>

#include <cmath>
#include <limits>
#include <numeric>

#include "core/autograd.h"
#include "core/ops/reduce.h"
#include "core/ops/shape.h"
#include "core/random.h"
#include "tests/ops/op_harness.h"
#include "tests/require_cuda.h"

namespace kiln::testing {
namespace {

enum class Kind { sum, mean, max, argmax };

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::sum:
      return "sum";
    case Kind::mean:
      return "mean";
    case Kind::max:
      return "max";
    case Kind::argmax:
      return "argmax";
  }
  return "";
}

// Folds `x` over `dims` (all when empty) with plain loops over every element.
RefTensor ref_reduce(const RefTensor& x, const std::vector<int64_t>& dims, bool keepdim,
                     Kind kind) {
  const int64_t ndim = x.dim();
  std::vector<bool> reduced(static_cast<size_t>(ndim), dims.empty());
  for (const int64_t d : dims) reduced[static_cast<size_t>(d < 0 ? d + ndim : d)] = true;
  Shape out_shape;
  int64_t group = 1;
  for (int64_t d = 0; d < ndim; ++d) {
    if (!reduced[static_cast<size_t>(d)]) {
      out_shape.push_back(x.shape[static_cast<size_t>(d)]);
    } else {
      group *= x.shape[static_cast<size_t>(d)];
      if (keepdim) out_shape.push_back(1);
    }
  }
  const double start =
      kind == Kind::max || kind == Kind::argmax ? -std::numeric_limits<double>::infinity() : 0.0;
  RefTensor out(out_shape, start);
  RefTensor best_position(out_shape, -1.0);
  for (int64_t i = 0; i < x.numel(); ++i) {
    const std::vector<int64_t> index = unravel(i, x.shape);
    std::vector<int64_t> out_index;
    int64_t position = 0;  // row-major position inside the reduced group
    for (int64_t d = 0; d < ndim; ++d) {
      if (!reduced[static_cast<size_t>(d)]) {
        out_index.push_back(index[static_cast<size_t>(d)]);
      } else {
        position = position * x.shape[static_cast<size_t>(d)] + index[static_cast<size_t>(d)];
        if (keepdim) out_index.push_back(0);
      }
    }
    const double v = x.data[static_cast<size_t>(i)];
    double& o = out.at(out_index);
    if (kind == Kind::sum || kind == Kind::mean) {
      o += v;
    } else if (v > o) {
      o = v;
      best_position.at(out_index) = static_cast<double>(position);
    }
  }
  if (kind == Kind::mean)
    for (double& v : out.data) v /= static_cast<double>(group);
  return kind == Kind::argmax ? best_position : out;
}

Tensor run(Kind kind, const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  switch (kind) {
    case Kind::sum:
      return sum(x, dims, keepdim);
    case Kind::mean:
      return mean(x, dims, keepdim);
    case Kind::max:
      return max(x, dims, keepdim);
    case Kind::argmax:
      return argmax(x, dims[0], keepdim);
  }
  return {};
}

std::string dims_name(const std::vector<int64_t>& dims) {
  if (dims.empty()) return "all";
  std::string name;
  for (const int64_t d : dims) name += fmt::format("{}{}", d < 0 ? 'm' : 'd', std::abs(d));
  return name;
}

OpCase reduce_case(Kind kind, Shape shape, std::vector<int64_t> dims, bool keepdim,
                   bool gradients = true) {
  OpCase c;
  c.name = fmt::format("{}_{}_{}{}", kind_name(kind), fmt::join(shape, "_"), dims_name(dims),
                       keepdim ? "_keep" : "");
  c.inputs = {InputSpec::real(std::move(shape), -2.0, 2.0)};
  c.op = [kind, dims, keepdim](const std::vector<Tensor>& in) {
    return run(kind, in[0], dims, keepdim);
  };
  c.reference = [kind, dims, keepdim](const std::vector<RefTensor>& in) {
    return ref_reduce(in[0], dims, keepdim, kind);
  };
  c.check_gradients = gradients && kind != Kind::argmax;
  return c;
}

// Sums `x` onto `shape` the way broadcasting's inverse does: every x element lands on the
// target element it would have been broadcast from.
RefTensor ref_sum_to(const RefTensor& x, const Shape& shape) {
  RefTensor out(shape);
  const size_t lead = x.shape.size() - shape.size();
  for (int64_t i = 0; i < x.numel(); ++i) {
    const std::vector<int64_t> index = unravel(i, x.shape);
    std::vector<int64_t> target(shape.size());
    for (size_t d = 0; d < shape.size(); ++d) target[d] = shape[d] == 1 ? 0 : index[lead + d];
    out.at(target) += x.data[static_cast<size_t>(i)];
  }
  return out;
}

OpCase sum_to_case(const std::string& name, Shape from, Shape to) {
  OpCase c;
  c.name = "sum_to_" + name;
  c.inputs = {InputSpec::real(std::move(from))};
  c.op = [to](const std::vector<Tensor>& in) { return sum_to(in[0], to); };
  c.reference = [to](const std::vector<RefTensor>& in) { return ref_sum_to(in[0], to); };
  return c;
}

std::vector<OpCase> reduce_cases() {
  std::vector<OpCase> cases;
  for (const Kind kind : {Kind::sum, Kind::mean, Kind::max}) {
    for (const bool keepdim : {false, true}) {
      cases.push_back(reduce_case(kind, {1}, {0}, keepdim));
      cases.push_back(reduce_case(kind, {7}, {0}, keepdim));
      cases.push_back(reduce_case(kind, {4, 33}, {1}, keepdim));
      cases.push_back(reduce_case(kind, {4, 33}, {0}, keepdim));
      cases.push_back(reduce_case(kind, {2, 3, 5}, {-2}, keepdim));
      cases.push_back(reduce_case(kind, {2, 3, 5}, {0, 2}, keepdim));
      cases.push_back(reduce_case(kind, {3, 4, 5, 2}, {-1, 1}, keepdim));
      cases.push_back(reduce_case(kind, {3, 4, 5, 2}, {0, 2, 3}, keepdim));
      cases.push_back(reduce_case(kind, {2, 3, 5}, {}, keepdim));
    }
    cases.push_back(reduce_case(kind, {31, 1, 2}, {1}, false));
    cases.push_back(reduce_case(kind, {32, 1}, {-2}, true));
    cases.push_back(reduce_case(kind, {33}, {}, false));
    // Forward only, at sizes that take the kernels' other paths: long rows cut into blocks
    // (few outputs), many outputs, and wide column chunks.
    cases.push_back(reduce_case(kind, {4097}, {}, false, false));
    cases.push_back(reduce_case(kind, {2, 9001}, {1}, false, false));
    cases.push_back(reduce_case(kind, {3, 20000}, {-1}, true, false));
    cases.push_back(reduce_case(kind, {70, 300}, {1}, false, false));
    cases.push_back(reduce_case(kind, {70, 300}, {0}, false, false));
    cases.push_back(reduce_case(kind, {5, 40, 257}, {0, 1}, false, false));
    cases.push_back(reduce_case(kind, {5, 40, 257}, {1}, true, false));
    cases.push_back(reduce_case(kind, {64, 1025, 2}, {1}, false, false));
  }
  for (const int64_t dim : {0, 1, -1}) {
    cases.push_back(reduce_case(Kind::argmax, {4, 33}, {dim}, false));
    cases.push_back(reduce_case(Kind::argmax, {4, 33}, {dim}, true));
  }
  cases.push_back(reduce_case(Kind::argmax, {2, 3, 5}, {1}, false));
  cases.push_back(reduce_case(Kind::argmax, {7}, {0}, false));
  cases.push_back(reduce_case(Kind::argmax, {3, 4097}, {1}, false));
  cases.push_back(reduce_case(Kind::argmax, {300, 70}, {0}, false));

  // A transposed view: sum over the view's last dim reads the input's first dim.
  OpCase transposed;
  transposed.name = "sum_of_transposed_view";
  transposed.inputs = {InputSpec::real({5, 7})};
  transposed.op = [](const std::vector<Tensor>& in) { return sum(transpose(in[0], 0, 1), {1}); };
  transposed.reference = [](const std::vector<RefTensor>& in) {
    RefTensor out({7});
    for (int64_t i = 0; i < 5; ++i)
      for (int64_t j = 0; j < 7; ++j) out.at({j}) += in[0].at({i, j});
    return out;
  };
  cases.push_back(std::move(transposed));

  cases.push_back(sum_to_case("same", {4, 3}, {4, 3}));
  cases.push_back(sum_to_case("leading", {4, 3, 5}, {3, 5}));
  cases.push_back(sum_to_case("last", {4, 3, 5}, {5}));
  cases.push_back(sum_to_case("inner_ones", {4, 3, 5}, {3, 1}));
  cases.push_back(sum_to_case("keep_rank", {4, 3, 5}, {4, 1, 5}));
  cases.push_back(sum_to_case("all_ones", {4, 3, 5}, {1, 1, 1}));
  cases.push_back(sum_to_case("scalar", {2, 7}, {}));
  cases.push_back(sum_to_case("one", {33}, {1}));
  cases.push_back(sum_to_case("size_one_source", {3, 1, 4}, {1, 4}));
  OpCase big = sum_to_case("bias_4097", {4097, 33}, {33});
  big.check_gradients = false;
  cases.push_back(std::move(big));
  return cases;
}

KILN_OP_CASES(Reduce, reduce_cases());

TEST(Reduce, ArgmaxTiesPickTheFirstIndex) {
  const Tensor x = from_vector<float>({1, 3, 3, 2, 3}, {5});
  EXPECT_EQ(argmax(x, 0).item(), 1.0);
  const Tensor m = from_vector<double>({5, 1, 5, 5, 2, 2, 0, 7, 5}, {3, 3});
  EXPECT_EQ(argmax(m, 1).to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 1}));
  EXPECT_EQ(argmax(m, 0).to_vector<int64_t>(), (std::vector<int64_t>{0, 2, 0}));
  EXPECT_EQ(argmax(m, -1, true).shape(), (Shape{3, 1}));
  EXPECT_EQ(argmax(m, 0).dtype(), DType::i64);
}

// Long rows are reduced in blocks on several threads; a tie across blocks still resolves to the
// first index.
TEST(Reduce, ArgmaxTiesAcrossLongRowsPickTheFirstIndex) {
  std::vector<float> values(2 * 20000, 0.0f);
  values[5000] = values[15000] = 1.0f;
  values[20000 + 19999] = values[20000 + 9000] = 2.0f;
  const Tensor x = from_vector(values, {2, 20000});
  EXPECT_EQ(argmax(x, 1).to_vector<int64_t>(), (std::vector<int64_t>{5000, 9000}));
  EXPECT_EQ(argmax(x.transpose(0, 1), 0).to_vector<int64_t>(), (std::vector<int64_t>{5000, 9000}));
  EXPECT_EQ(argmax(zeros({3, 30000}), 1).to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 0}));
  // Reducing the leading dim of a contiguous tensor walks columns, also in blocks.
  std::vector<float> column_values(2 * 20000, 0.0f);
  column_values[2 * 5000] = column_values[2 * 15000] = 1.0f;
  column_values[2 * 19999 + 1] = column_values[2 * 9000 + 1] = 2.0f;
  EXPECT_EQ(argmax(from_vector(column_values, {20000, 2}), 0).to_vector<int64_t>(),
            (std::vector<int64_t>{5000, 9000}));
}

TEST(Reduce, ArgmaxRecordsNoGradient) {
  Tensor x = from_vector<double>({1, 2, 3}, {3});
  x.set_requires_grad(true);
  const Tensor index = argmax(x, 0);
  EXPECT_FALSE(index.requires_grad());
  EXPECT_TRUE(index.is_leaf());
}

TEST(Reduce, MaxGradientGoesToTheFirstMaximum) {
  Tensor x = from_vector<double>({2, 4, 4, 1, 3, 3}, {2, 3});
  x.set_requires_grad(true);
  const Tensor m = max(x, {1});
  EXPECT_EQ(m.to_vector<double>(), (std::vector<double>{4, 3}));
  m.backward(from_vector<double>({10, 20}, {2}));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0, 10, 0, 0, 20, 0}));
}

TEST(Reduce, ShapesWithAndWithoutKeepdim) {
  const Tensor x = zeros({2, 3, 4});
  EXPECT_EQ(sum(x).shape(), Shape{});
  EXPECT_EQ(sum(x, {}, true).shape(), (Shape{1, 1, 1}));
  EXPECT_EQ(mean(x, {0, -1}).shape(), (Shape{3}));
  EXPECT_EQ(max(x, {1}, true).shape(), (Shape{2, 1, 4}));
  EXPECT_EQ(x.sum({-1}).shape(), (Shape{2, 3}));
  EXPECT_EQ(x.mean({2}, true).shape(), (Shape{2, 3, 1}));
}

TEST(Reduce, ScalarInputs) {
  const Tensor x = full({}, 2.5);
  EXPECT_EQ(sum(x).item(), 2.5);
  EXPECT_EQ(mean(x, {0}).item(), 2.5);
  EXPECT_EQ(max(x, {-1}).item(), 2.5);
  EXPECT_EQ(argmax(x, 0).item(), 0.0);
}

TEST(Reduce, EmptyGroups) {
  const Tensor x = zeros({3, 0});
  EXPECT_EQ(sum(x, {1}).to_vector<double>(), (std::vector<double>{0, 0, 0}));
  EXPECT_TRUE(std::isnan(mean(x, {1}).to_vector<double>()[0]));
  EXPECT_EQ(max(x, {0}).shape(), (Shape{0}));
  expect_error([&] { max(x, {1}); }, "[max]");
  expect_error([&] { argmax(x, 1); }, "[argmax]");
}

TEST(Reduce, SumOfManyF32ValuesIsAccurate) {
  Generator gen(7);
  const Tensor x = rand({1000, 1000}, {}, &gen, 0.0, 1.0);
  const std::vector<float> values = x.to_vector<float>();
  const double expected = std::accumulate(values.begin(), values.end(), 0.0);
  EXPECT_NEAR(sum(x).item(), expected, 1e-6 * expected);
  const Tensor columns = sum(x, {0});
  double column_total = 0.0;
  for (const double v : columns.to_vector<double>()) column_total += v;
  EXPECT_NEAR(column_total, expected, 1e-6 * expected);
}

// Blocks and their combining order depend on the shapes only, so a run on any number of
// threads gives the same bits.
TEST(Reduce, ResultsDoNotDependOnTheThreadCount) {
  Generator gen(5);
  const Tensor x = rand({16, 3000, 40}, {}, &gen, -1.0, 1.0);
  auto results = [&] {
    return std::vector<std::vector<float>>{
        sum(x).to_vector<float>(), sum(x, {0, 1}).to_vector<float>(),
        sum(x, {2}).to_vector<float>(), mean(x.transpose(0, 2), {1, 2}).to_vector<float>(),
        max(x, {0, 1}).to_vector<float>()};
  };
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto serial = results();
  omp_set_num_threads(3);
  const auto three = results();
  omp_set_num_threads(threads);
  EXPECT_EQ(serial, three);
  EXPECT_EQ(serial, results());
}

TEST(Reduce, SumOfABroadcastViewCountsEveryCopy) {
  const Tensor x = from_vector<float>({1, 2, 3}, {3, 1});
  const Tensor wide = expand(x, {3, 4});
  EXPECT_EQ(sum(wide, {1}).to_vector<double>(), (std::vector<double>{4, 8, 12}));
  EXPECT_EQ(sum(wide).item(), 24.0);
}

TEST(Reduce, SumToGradientBroadcastsBack) {
  Tensor x = from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3});
  x.set_requires_grad(true);
  const Tensor s = sum_to(x, {1, 3});
  EXPECT_EQ(s.to_vector<double>(), (std::vector<double>{5, 7, 9}));
  s.backward(from_vector<double>({1, 2, 3}, {1, 3}));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{1, 2, 3, 1, 2, 3}));
}

TEST(Reduce, BadArgumentsNameTheOp) {
  const Tensor x = zeros({2, 3});
  expect_error([&] { sum(x, {2}); }, "[sum]");
  expect_error([&] { mean(x, {-3}); }, "[mean]");
  expect_error([&] { max(x, {0, -2}); }, "[max]");
  expect_error([&] { argmax(x, 5); }, "[argmax]");
  expect_error([&] { sum(zeros({3}, TensorOptions{DType::i64})); }, "[sum]");
  expect_error([&] { sum_to(x, {4}); }, "[sum_to]");
  expect_error([&] { sum_to(x, {2, 2}); }, "[sum_to]");
  expect_error([&] { sum_to(x, {1, 2, 3}); }, "[sum_to]");
}

// Shapes that take each CUDA launch shape: warp rows, block rows, rows cut into chunks, columns,
// and columns cut into chunks. The results repeat bit for bit and match the CPU.
TEST(Reduce, CudaReductionsAreDeterministicAndMatchTheCpu) {
  KILN_SKIP_WITHOUT_CUDA();
  Generator gen(9);
  struct Case {
    Shape shape;
    std::vector<int64_t> dims;
  };
  const Case cases[] = {{{300, 70}, {1}},     {{70, 3000}, {1}},     {{3, 200000}, {1}},
                        {{1000000}, {}},      {{200000, 40}, {0}},   {{4097, 33}, {0}},
                        {{64, 1025, 2}, {1}}, {{5, 40, 257}, {0, 2}}};
  for (const Case& c : cases) {
    const Tensor x = rand(c.shape, {}, &gen, -1.0, 1.0);
    const Tensor x_cuda = x.to(Device::cuda(0));
    const std::vector<float> first = sum(x_cuda, c.dims).to_vector<float>();
    EXPECT_EQ(first, sum(x_cuda, c.dims).to_vector<float>()) << shape_str(c.shape);
    std::vector<double> expected = sum(x, c.dims).to_vector<double>();
    EXPECT_LE(relative_error(std::vector<double>(first.begin(), first.end()), expected), 1e-5)
        << shape_str(c.shape);
    EXPECT_EQ(max(x_cuda, c.dims).to_vector<float>(), max(x, c.dims).to_vector<float>())
        << shape_str(c.shape);
  }
}

TEST(Reduce, CudaArgmaxTiesAcrossChunksPickTheFirstIndex) {
  KILN_SKIP_WITHOUT_CUDA();
  std::vector<float> values(2 * 200000, 0.0f);
  values[50000] = values[150000] = 1.0f;
  values[200000 + 199999] = values[200000 + 90000] = 2.0f;
  const Tensor x = from_vector(values, {2, 200000}, Device::cuda(0));
  EXPECT_EQ(argmax(x, 1).to_vector<int64_t>(), (std::vector<int64_t>{50000, 90000}));
  EXPECT_EQ(argmax(x.transpose(0, 1), 0).to_vector<int64_t>(),
            (std::vector<int64_t>{50000, 90000}));
  std::vector<float> with_nan(1000, 0.0f);
  with_nan[700] = std::nanf("");
  with_nan[900] = std::nanf("");
  EXPECT_EQ(argmax(from_vector(with_nan, {1000}, Device::cuda(0)), 0).item(), 700.0);
}

}  // namespace
}  // namespace kiln::testing
