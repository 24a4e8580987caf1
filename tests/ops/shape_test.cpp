#include "core/ops/shape.h"

#include <algorithm>
#include <functional>
#include <string>

#include "core/autograd.h"
#include "core/ops/elementwise.h"
#include "core/ops/reduce.h"
#include "tests/ops/op_harness.h"

namespace kiln::testing {
namespace {

using Index = std::vector<int64_t>;

// out[i] = x[source(i)] for every multi-index i of `shape`: the one shape every layout op's
// reference takes, each with its own hand-written `source`.
RefTensor ref_gather(const RefTensor& x, const Shape& shape,
                     const std::function<Index(const Index&)>& source) {
  RefTensor out(shape);
  for (int64_t i = 0; i < out.numel(); ++i)
    out.data[static_cast<size_t>(i)] = x.at(source(unravel(i, shape)));
  return out;
}

// Concatenates along `dim` by walking every output element and finding its input.
RefTensor ref_cat(const std::vector<RefTensor>& xs, int64_t dim) {
  Shape shape = xs[0].shape;
  const auto d = static_cast<size_t>(dim);
  shape[d] = 0;
  for (const RefTensor& x : xs) shape[d] += x.shape[d];
  RefTensor out(shape);
  for (int64_t i = 0; i < out.numel(); ++i) {
    Index index = unravel(i, shape);
    size_t which = 0;
    while (index[d] >= xs[which].shape[d]) index[d] -= xs[which++].shape[d];
    out.data[static_cast<size_t>(i)] = xs[which].at(index);
  }
  return out;
}

// The elements at `picked` positions along `dim`.
RefTensor ref_pick(const RefTensor& x, int64_t dim, const Index& picked) {
  Shape shape = x.shape;
  const auto d = static_cast<size_t>(dim);
  shape[d] = static_cast<int64_t>(picked.size());
  return ref_gather(x, shape, [&](Index i) {
    i[d] = picked[static_cast<size_t>(i[d])];
    return i;
  });
}

Index range(int64_t begin, int64_t end) {
  Index out;
  for (int64_t i = begin; i < end; ++i) out.push_back(i);
  return out;
}

OpCase unary_case(std::string name, Shape shape, std::function<Tensor(const Tensor&)> op,
                  std::function<RefTensor(const RefTensor&)> reference) {
  OpCase c;
  c.name = std::move(name);
  c.inputs = {InputSpec::real(std::move(shape))};
  c.op = [op](const std::vector<Tensor>& in) { return op(in[0]); };
  c.reference = [reference](const std::vector<RefTensor>& in) { return reference(in[0]); };
  return c;
}

// Reshape keeps the row-major order, so the reference is the same data with another shape.
OpCase reshape_case(std::string name, Shape in, Shape requested, Shape expected,
                    Tensor (*op)(const Tensor&, const Shape&)) {
  return unary_case(
      std::move(name), std::move(in), [op, requested](const Tensor& x) { return op(x, requested); },
      [expected](const RefTensor& x) {
        RefTensor out(expected);
        out.data = x.data;
        return out;
      });
}

RefTensor ref_transpose(const RefTensor& x, size_t d0, size_t d1) {
  Shape shape = x.shape;
  std::swap(shape[d0], shape[d1]);
  return ref_gather(x, shape, [&](Index i) {
    std::swap(i[d0], i[d1]);
    return i;
  });
}

OpCase transpose_case(std::string name, Shape in, int64_t dim0, int64_t dim1) {
  const auto n = static_cast<int64_t>(in.size());
  const auto d0 = static_cast<size_t>(dim0 < 0 ? dim0 + n : dim0);
  const auto d1 = static_cast<size_t>(dim1 < 0 ? dim1 + n : dim1);
  return unary_case(
      std::move(name), std::move(in), [=](const Tensor& x) { return transpose(x, dim0, dim1); },
      [=](const RefTensor& x) { return ref_transpose(x, d0, d1); });
}

// `dims` as given to permute; `positive` the same dims without negative values.
OpCase permute_case(std::string name, Shape in, Index dims, Index positive) {
  return unary_case(
      std::move(name), std::move(in), [dims](const Tensor& x) { return permute(x, dims); },
      [positive](const RefTensor& x) {
        Shape shape;
        for (const int64_t d : positive) shape.push_back(x.shape[static_cast<size_t>(d)]);
        return ref_gather(x, shape, [&](const Index& i) {
          Index source(i.size());
          for (size_t k = 0; k < i.size(); ++k) source[static_cast<size_t>(positive[k])] = i[k];
          return source;
        });
      });
}

// `picked` lists by hand the positions Python's x[start:end:step] selects.
OpCase slice_case(std::string name, Shape in, int64_t dim, int64_t start, int64_t end, int64_t step,
                  int64_t positive_dim, Index picked) {
  return unary_case(
      std::move(name), std::move(in),
      [=](const Tensor& x) { return slice(x, dim, start, end, step); },
      [=](const RefTensor& x) { return ref_pick(x, positive_dim, picked); });
}

OpCase expand_case(std::string name, Shape in, Shape requested, Shape expected) {
  return unary_case(
      std::move(name), std::move(in), [requested](const Tensor& x) { return expand(x, requested); },
      [expected](const RefTensor& x) {
        const size_t lead = expected.size() - x.shape.size();
        return ref_gather(x, expected, [&](const Index& i) {
          Index source(i.begin() + static_cast<long>(lead), i.end());
          for (size_t k = 0; k < source.size(); ++k)
            if (x.shape[k] == 1) source[k] = 0;
          return source;
        });
      });
}

OpCase cat_case(std::string name, std::vector<Shape> shapes, int64_t dim, int64_t positive_dim) {
  OpCase c;
  c.name = std::move(name);
  for (Shape& s : shapes) c.inputs.push_back(InputSpec::real(std::move(s)));
  c.op = [dim](const std::vector<Tensor>& in) { return cat(in, dim); };
  c.reference = [positive_dim](const std::vector<RefTensor>& in) {
    return ref_cat(in, positive_dim);
  };
  return c;
}

// The pieces of split, concatenated in reverse so that every piece's values and gradient are
// checked at once.
OpCase split_reversed_case(std::string name, Shape in,
                           std::function<std::vector<Tensor>(const Tensor&)> op, int64_t dim,
                           std::vector<Index> pieces) {
  return unary_case(
      std::move(name), std::move(in),
      [op, dim](const Tensor& x) {
        std::vector<Tensor> parts = op(x);
        std::reverse(parts.begin(), parts.end());
        return cat(parts, dim);
      },
      [dim, pieces](const RefTensor& x) {
        Index picked;
        for (auto it = pieces.rbegin(); it != pieces.rend(); ++it)
          picked.insert(picked.end(), it->begin(), it->end());
        return ref_pick(x, dim, picked);
      });
}

std::vector<OpCase> shape_cases() {
  std::vector<OpCase> cases;
  auto add = [&](OpCase c, bool gradients = true) {
    c.check_gradients = gradients;
    cases.push_back(std::move(c));
  };

  add(reshape_case("reshape_infer_last", {4, 6}, {3, -1}, {3, 8}, reshape));
  add(reshape_case("reshape_infer_first", {2, 3, 5}, {-1, 5}, {6, 5}, reshape));
  add(reshape_case("reshape_flat", {2, 3, 4}, {-1}, {24}, reshape));
  add(reshape_case("reshape_unflatten", {31}, {1, 31, 1}, {1, 31, 1}, reshape));
  add(reshape_case("reshape_scalar", {1}, {}, {}, reshape));
  add(reshape_case("reshape_4097_forward", {4097, 2}, {2, -1}, {2, 4097}, reshape), false);
  add(reshape_case("view_flat", {5, 6}, {30}, {30}, view));
  add(reshape_case("view_merge_leading", {2, 3, 4}, {6, -1}, {6, 4}, view));
  add(reshape_case("view_split", {7, 33}, {7, 3, 11}, {7, 3, 11}, view));
  // A transposed tensor cannot be a view of the new shape: reshape copies.
  add(unary_case(
      "reshape_of_transposed", {3, 5},
      [](const Tensor& x) { return reshape(transpose(x, 0, 1), {-1}); },
      [](const RefTensor& x) {
        RefTensor t = ref_transpose(x, 0, 1);
        RefTensor out({15});
        out.data = t.data;
        return out;
      }));

  add(unary_case(
      "flatten_middle", {2, 3, 4, 2}, [](const Tensor& x) { return flatten(x, 1, 2); },
      [](const RefTensor& x) {
        RefTensor out({2, 12, 2});
        out.data = x.data;
        return out;
      }));
  add(unary_case(
      "flatten_all", {3, 1, 5}, [](const Tensor& x) { return flatten(x); },
      [](const RefTensor& x) {
        RefTensor out({15});
        out.data = x.data;
        return out;
      }));
  add(unary_case(
      "flatten_negative", {2, 3, 4}, [](const Tensor& x) { return flatten(x, -2); },
      [](const RefTensor& x) {
        RefTensor out({2, 12});
        out.data = x.data;
        return out;
      }));

  add(transpose_case("transpose_2d", {3, 5}, 0, 1));
  add(transpose_case("transpose_3d_negative", {2, 3, 4}, 0, -1));
  add(transpose_case("transpose_4d_middle", {2, 7, 3, 2}, 1, 2));
  add(transpose_case("transpose_same_dim", {4, 3}, 1, -1));
  add(transpose_case("transpose_4097_forward", {4097, 3}, 0, 1), false);

  add(permute_case("permute_3d", {2, 3, 4}, {2, 0, 1}, {2, 0, 1}));
  add(permute_case("permute_3d_negative", {3, 1, 5}, {1, -1, 0}, {1, 2, 0}));
  add(permute_case("permute_4d", {2, 3, 4, 5}, {3, 1, 0, 2}, {3, 1, 0, 2}));
  add(permute_case("permute_4d_reverse", {3, 2, 2, 4}, {3, 2, 1, 0}, {3, 2, 1, 0}));
  add(permute_case("permute_33_65_7_forward", {33, 65, 7}, {2, 0, 1}, {2, 0, 1}), false);

  add(slice_case("slice_step2", {7, 3}, 0, 1, 6, 2, 0, {1, 3, 5}));
  add(slice_case("slice_negative_bounds", {3, 9}, -1, -5, -1, 2, 1, {4, 6}));
  add(slice_case("slice_clamped", {2, 10, 2}, 1, -100, 100, 3, 1, {0, 3, 6, 9}));
  add(slice_case("slice_step1_middle", {4, 6}, 1, 2, 5, 1, 1, {2, 3, 4}));
  add(slice_case("slice_step_past_end", {5, 3}, 0, 4, 7, 4, 0, {4}));
  add(slice_case("slice_empty", {5, 3}, 0, 4, 2, 1, 0, {}));
  add(slice_case("slice_4097_forward", {4097, 2}, 0, 1, -1, 7, 0,
                 [] {
                   Index picked;
                   for (int64_t i = 1; i < 4096; i += 7) picked.push_back(i);
                   return picked;
                 }()),
      false);

  add(expand_case("expand_column", {3, 1}, {3, 4}, {3, 4}));
  add(expand_case("expand_new_leading", {1, 5}, {2, 4, 5}, {2, 4, 5}));
  add(expand_case("expand_keep_minus_one", {3, 1, 2}, {-1, 4, -1}, {3, 4, 2}));
  add(expand_case("expand_vector_to_3d", {4}, {3, 2, 4}, {3, 2, 4}));
  add(expand_case("expand_nothing", {2, 3}, {2, 3}, {2, 3}));
  add(expand_case("expand_4097_forward", {4097, 1}, {4097, 3}, {4097, 3}), false);

  add(unary_case(
      "squeeze_middle", {3, 1, 4}, [](const Tensor& x) { return squeeze(x, 1); },
      [](const RefTensor& x) {
        RefTensor out({3, 4});
        out.data = x.data;
        return out;
      }));
  add(unary_case(
      "squeeze_negative", {5, 1}, [](const Tensor& x) { return squeeze(x, -1); },
      [](const RefTensor& x) {
        RefTensor out({5});
        out.data = x.data;
        return out;
      }));
  add(unary_case(
      "squeeze_not_one_is_noop", {2, 3}, [](const Tensor& x) { return squeeze(x, 0); },
      [](const RefTensor& x) { return x; }));
  add(unary_case(
      "unsqueeze_front", {3, 4}, [](const Tensor& x) { return unsqueeze(x, 0); },
      [](const RefTensor& x) {
        RefTensor out({1, 3, 4});
        out.data = x.data;
        return out;
      }));
  add(unary_case(
      "unsqueeze_middle", {3, 4}, [](const Tensor& x) { return unsqueeze(x, 1); },
      [](const RefTensor& x) {
        RefTensor out({3, 1, 4});
        out.data = x.data;
        return out;
      }));
  add(unary_case(
      "unsqueeze_end_negative", {7}, [](const Tensor& x) { return unsqueeze(x, -1); },
      [](const RefTensor& x) {
        RefTensor out({7, 1});
        out.data = x.data;
        return out;
      }));

  add(cat_case("cat_dim0_two", {{2, 3}, {4, 3}}, 0, 0));
  add(cat_case("cat_dim1_three", {{3, 2}, {3, 5}, {3, 1}}, 1, 1));
  add(cat_case("cat_last_three", {{2, 3, 1}, {2, 3, 4}, {2, 3, 2}}, -1, 2));
  add(cat_case("cat_middle_3d", {{2, 1, 3}, {2, 4, 3}}, 1, 1));
  add(cat_case("cat_single", {{7}}, 0, 0));
  add(cat_case("cat_4097_forward", {{4097, 2}, {31, 2}, {1, 2}}, 0, 0), false);
  add(cat_case("cat_4097_last_forward", {{33, 4097}, {33, 32}}, -1, 1), false);

  add(unary_case(
      "split_one_piece", {7, 4}, [](const Tensor& x) { return split(x, 3, 0)[1]; },
      [](const RefTensor& x) {
        return ref_pick(x, 0, {3, 4, 5});
      }));
  add(unary_case(
      "split_last_small_piece", {7, 4}, [](const Tensor& x) { return split(x, 3, 0)[2]; },
      [](const RefTensor& x) { return ref_pick(x, 0, {6}); }));
  add(split_reversed_case("split_size_all_pieces", {3, 8},
                          [](const Tensor& x) { return split(x, 3, -1); }, 1,
                          {range(0, 3), range(3, 6), range(6, 8)}));
  add(split_reversed_case("split_sizes_all_pieces", {3, 8},
                          [](const Tensor& x) {
                            return split(x, {2, 5, 1}, 1);
                          },
                          1, {range(0, 2), range(2, 7), range(7, 8)}));
  add(split_reversed_case("split_sizes_dim0", {9, 2, 2},
                          [](const Tensor& x) {
                            return split(x, {4, 0, 5}, 0);
                          },
                          0, {range(0, 4), {}, range(4, 9)}));
  return cases;
}

KILN_OP_CASES(Shape, shape_cases());

TEST(ShapeBackward, OverlappingSlicesAccumulate) {
  Tensor x = from_vector<double>({1, 2, 3, 4, 5}, {5});
  x.set_requires_grad(true);
  // x[0:3] and x[2:5] overlap at element 2, whose gradient must be the sum of both.
  const Tensor y = sum(slice(x, 0, 0, 3)) + sum(mul(slice(x, 0, 2, 5), 2.0));
  y.backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{1, 1, 3, 2, 2}));
}

TEST(ShapeBackward, SplitPiecesFlowBackIndependently) {
  Tensor x = from_vector<double>({1, 2, 3, 4, 5, 6}, {3, 2});
  x.set_requires_grad(true);
  const std::vector<Tensor> parts = split(x, 2, 0);
  ASSERT_EQ(parts.size(), 2u);
  // Only the second piece is used: the first piece's rows get no gradient.
  sum(mul(parts[1], 3.0)).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0, 0, 0, 0, 3, 3}));
}

TEST(ShapeBackward, ExpandSumsOverBroadcastDims) {
  Tensor x = from_vector<double>({1, 2}, {2, 1});
  x.set_requires_grad(true);
  sum(expand(x, {3, 2, 4})).backward();
  EXPECT_EQ(x.grad().shape(), (Shape{2, 1}));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{12, 12}));
}

TEST(ShapeBackward, CatGivesEachInputItsSlice) {
  Tensor a = from_vector<double>({1, 2}, {1, 2});
  Tensor b = from_vector<double>({3, 4, 5, 6}, {2, 2});
  a.set_requires_grad(true);
  b.set_requires_grad(true);
  const Tensor weights = from_vector<double>({1, 2, 3, 4, 5, 6}, {3, 2});
  cat({a, b}, 0).backward(weights);
  EXPECT_EQ(a.grad().to_vector<double>(), (std::vector<double>{1, 2}));
  EXPECT_EQ(b.grad().to_vector<double>(), (std::vector<double>{3, 4, 5, 6}));
}

TEST(ShapeBackward, CatSkipsInputsThatDoNotRequireGrad) {
  const Tensor a = from_vector<double>({1, 2}, {2});
  Tensor b = from_vector<double>({3}, {1});
  b.set_requires_grad(true);
  const Tensor out = cat({a, b}, 0);
  ASSERT_TRUE(out.requires_grad());
  sum(out).backward();
  EXPECT_FALSE(a.grad().defined());
  EXPECT_EQ(b.grad().to_vector<double>(), (std::vector<double>{1}));
}

TEST(ShapeBackward, ChainOfViewsMapsGradientBack) {
  Tensor x = from_vector<double>({0, 1, 2, 3, 4, 5}, {2, 3});
  x.set_requires_grad(true);
  // [2, 3] -> [3, 2] (transpose) -> [6] (copying reshape) -> [1, 6] -> slice of every other.
  const Tensor y = slice(unsqueeze(reshape(transpose(x, 0, 1), {-1}), 0), 1, 0, 6, 2);
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{0, 1, 2}));
  y.backward(from_vector<double>({10, 20, 30}, {1, 3}));
  // Transposed order is x[0,0], x[1,0], x[0,1], x[1,1], x[0,2], x[1,2]; picks 0, 2, 4.
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{10, 20, 30, 0, 0, 0}));
}

TEST(ShapeBackward, ViewsOfIntegerTensorsRecordNothing) {
  const Tensor x = arange(0, 6, 1, TensorOptions{DType::i64});
  const Tensor y = transpose(reshape(x, {2, 3}), 0, 1);
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(y.contiguous().to_vector<int64_t>(), (std::vector<int64_t>{0, 3, 1, 4, 2, 5}));
}

TEST(ShapeBackward, NoGradGuardRecordsNothing) {
  Tensor x = from_vector<double>({1, 2, 3, 4}, {2, 2});
  x.set_requires_grad(true);
  NoGradGuard guard;
  EXPECT_FALSE(transpose(x, 0, 1).requires_grad());
  EXPECT_FALSE(cat({x, x}, 0).requires_grad());
  EXPECT_FALSE(split(x, 1, 0)[0].requires_grad());
}

}  // namespace
}  // namespace kiln::testing
