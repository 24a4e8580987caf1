#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "core/ops/shape.h"
#include "core/tensor.h"

namespace kiln {
namespace {

// 0, 1, ..., n-1 as f64 in `shape`.
Tensor iota(const Shape& shape) {
  return arange(0, static_cast<double>(shape_numel(shape)), 1, TensorOptions{DType::f64})
      .reshape(shape);
}

std::vector<double> values(const Tensor& t) {
  return t.to_vector<double>();
}

// `f` throws a kiln::Error whose message contains every one of `parts`.
void expect_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const std::string& part : parts)
      EXPECT_NE(message.find(part), std::string::npos)
          << "message \"" << message << "\" lacks \"" << part << "\"";
  }
}

TEST(View, ViewsShareStorageWithTheirBase) {
  const Tensor base = iota({3, 4});
  const std::vector<Tensor> views = {base.reshape({12}),   base.view({2, 6}),
                                     base.transpose(0, 1), base.permute({1, 0}),
                                     slice(base, 1, 1, 3), expand(base, {2, 3, 4}),
                                     unsqueeze(base, 0),   squeeze(unsqueeze(base, 2), 2),
                                     flatten(base),        split(base, 2, 0)[1]};
  for (const Tensor& v : views) EXPECT_EQ(v.storage(), base.storage());
}

TEST(View, FillingAViewWritesTheBase) {
  const Tensor base = zeros({3, 4}, TensorOptions{DType::f64});
  fill_(slice(base, 1, 1, 4, 2), 7.0);
  EXPECT_EQ(values(base), (std::vector<double>{0, 7, 0, 7, 0, 7, 0, 7, 0, 7, 0, 7}));
  // Row 0 of the transposed base is column 0 of the base.
  fill_(slice(base.transpose(0, 1), 0, 0, 1), -1.0);
  EXPECT_EQ(values(base), (std::vector<double>{-1, 7, 0, 7, -1, 7, 0, 7, -1, 7, 0, 7}));
  fill_(expand(unsqueeze(slice(base, 0, 2, 3), 0), {1, 1, 4}), 2.0);
  EXPECT_EQ(values(slice(base, 0, 2, 3)), (std::vector<double>{2, 2, 2, 2}));
}

TEST(View, CopyingIntoAViewWritesTheBase) {
  const Tensor base = zeros({2, 3}, TensorOptions{DType::f64});
  // Row 1 of the transposed base is column 1 of the base.
  copy_(slice(base.transpose(0, 1), 0, 1, 2), from_vector<double>({5, 6}, {1, 2}));
  EXPECT_EQ(values(base), (std::vector<double>{0, 5, 0, 0, 6, 0}));
  copy_(split(base, 1, 0)[1], from_vector<double>({1, 2, 3}, {1, 3}));
  EXPECT_EQ(values(base), (std::vector<double>{0, 5, 0, 1, 2, 3}));
}

TEST(View, StridesAndOffsetsAreThoseOfTheLayout) {
  const Tensor base = iota({2, 3, 4});
  EXPECT_EQ(base.strides(), (Shape{12, 4, 1}));

  const Tensor t = base.transpose(0, 2);
  EXPECT_EQ(t.shape(), (Shape{4, 3, 2}));
  EXPECT_EQ(t.strides(), (Shape{1, 4, 12}));
  EXPECT_EQ(t.offset(), 0);

  const Tensor p = base.permute({1, 2, 0});
  EXPECT_EQ(p.shape(), (Shape{3, 4, 2}));
  EXPECT_EQ(p.strides(), (Shape{4, 1, 12}));

  const Tensor s = slice(base, 2, 1, 4, 2);
  EXPECT_EQ(s.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(s.strides(), (Shape{12, 4, 2}));
  EXPECT_EQ(s.offset(), 1);
  EXPECT_EQ(values(s), (std::vector<double>{1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23}));

  const Tensor rows = slice(base, 1, -2, 3);
  EXPECT_EQ(rows.shape(), (Shape{2, 2, 4}));
  EXPECT_EQ(rows.offset(), 4);

  const Tensor e = expand(slice(base, 1, 0, 1), {5, 2, 3, 4});
  EXPECT_EQ(e.strides(), (Shape{0, 12, 0, 1}));

  const Tensor pieces = split(base, {1, 3}, -1)[1];
  EXPECT_EQ(pieces.shape(), (Shape{2, 3, 3}));
  EXPECT_EQ(pieces.offset(), 1);
  EXPECT_EQ(pieces.strides(), (Shape{12, 4, 1}));

  EXPECT_EQ(unsqueeze(base, 1).strides(), (Shape{12, 12, 4, 1}));
  EXPECT_EQ(unsqueeze(base, 3).strides(), (Shape{12, 4, 1, 1}));
}

TEST(View, IsContiguousFollowsTheLayout) {
  const Tensor base = iota({3, 4});
  EXPECT_TRUE(base.is_contiguous());
  EXPECT_FALSE(base.transpose(0, 1).is_contiguous());
  EXPECT_TRUE(base.transpose(0, 1).transpose(0, 1).is_contiguous());
  EXPECT_FALSE(slice(base, 1, 0, 2).is_contiguous());
  EXPECT_TRUE(slice(base, 0, 1, 3).is_contiguous());
  EXPECT_FALSE(slice(base, 0, 0, 3, 2).is_contiguous());
  EXPECT_FALSE(expand(unsqueeze(base, 0), {2, 3, 4}).is_contiguous());
  EXPECT_TRUE(unsqueeze(base, 1).is_contiguous());
  EXPECT_TRUE(base.reshape({2, 6}).is_contiguous());
  EXPECT_TRUE(cat({base.transpose(0, 1), base.transpose(0, 1)}, 0).is_contiguous());
}

TEST(View, ReshapeCopiesOnlyWhenItMust) {
  const Tensor base = iota({2, 3, 4});
  const Tensor flat = base.reshape({-1});
  EXPECT_EQ(flat.storage(), base.storage());

  const Tensor transposed = base.transpose(1, 2);
  const Tensor copied = transposed.reshape({2, 12});
  EXPECT_NE(copied.storage(), base.storage());
  EXPECT_TRUE(copied.is_contiguous());
  EXPECT_EQ(values(copied), values(transposed));

  // Merging only dims that are still in order needs no copy, even on a transposed tensor.
  const Tensor kept = transposed.reshape({2, 4, 3, 1});
  EXPECT_EQ(kept.storage(), base.storage());
  const Tensor batch_merged = base.permute({1, 0, 2}).reshape({3, 2, 2, 2});
  EXPECT_EQ(batch_merged.storage(), base.storage());
  EXPECT_EQ(values(batch_merged), values(base.permute({1, 0, 2})));

  // A slice of the middle columns still merges its rows as a view, but not its columns with them.
  const Tensor middle = slice(base, 2, 1, 3);
  const Tensor merged_rows = middle.reshape({6, 2});
  EXPECT_EQ(merged_rows.storage(), base.storage());
  EXPECT_EQ(values(merged_rows), values(middle));
  EXPECT_NE(middle.reshape({-1}).storage(), base.storage());
}

TEST(View, ViewOfANonViewableLayoutIsAClearError) {
  const Tensor transposed = iota({3, 4}).transpose(0, 1);
  expect_error([&] { transposed.view({12}); }, {"[view]", "[4, 3]", "reshape or contiguous()"});
  EXPECT_NO_THROW(transposed.contiguous().view({12}));
  EXPECT_NO_THROW(transposed.reshape({12}));
}

TEST(View, ExpandedTensorsViewWhereStridesAllow) {
  const Tensor e = expand(from_vector<double>({1, 2, 3}, {3, 1}), {3, 4});
  EXPECT_EQ(e.strides(), (Shape{1, 0}));
  const Tensor u = e.view({3, 2, 2});
  EXPECT_EQ(u.strides(), (Shape{1, 0, 0}));
  EXPECT_EQ(values(u), (std::vector<double>{1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3}));
  expect_error([&] { e.view({12}); }, {"[view]"});
}

TEST(View, BadShapesNameTheOp) {
  const Tensor x = iota({2, 3, 4});
  expect_error([&] { x.reshape({5, -1}); }, {"[reshape]", "[5, -1]", "[2, 3, 4]"});
  expect_error([&] { x.reshape({7, 4}); }, {"[reshape]", "[7, 4]", "24"});
  expect_error([&] { x.reshape({-1, -1}); }, {"[reshape]", "more than one -1"});
  expect_error([&] { x.reshape({-2, 12}); }, {"[reshape]", "negative"});
  expect_error([&] { x.view({25}); }, {"[view]", "[25]"});
  expect_error([&] { zeros({0, 3}).reshape({-1, 0}); }, {"[reshape]", "-1"});
  EXPECT_EQ(zeros({0, 3}).reshape({3, -1}).shape(), (Shape{3, 0}));
}

TEST(View, BadDimsNameTheOp) {
  const Tensor x = iota({2, 3, 4});
  expect_error([&] { x.transpose(0, 3); }, {"[transpose]", "dim 3"});
  expect_error([&] { x.permute({0, 1}); }, {"[permute]", "[0, 1]"});
  expect_error([&] { x.permute({0, 1, 1}); }, {"[permute]", "repeat"});
  expect_error([&] { x.permute({0, 1, 3}); }, {"[permute]", "dim 3"});
  expect_error([&] { slice(x, -4, 0, 1); }, {"[slice]", "dim -4"});
  expect_error([&] { slice(x, 0, 0, 1, 0); }, {"[slice]", "step"});
  expect_error([&] { slice(x, 0, 0, 1, -1); }, {"[slice]", "step"});
  expect_error([&] { flatten(x, 2, 1); }, {"[flatten]", "start_dim"});
  expect_error([&] { flatten(x, 0, 5); }, {"[flatten]", "dim 5"});
  expect_error([&] { squeeze(x, 3); }, {"[squeeze]", "dim 3"});
  expect_error([&] { unsqueeze(x, 4); }, {"[unsqueeze]", "dim 4"});
  expect_error([&] { unsqueeze(x, -5); }, {"[unsqueeze]", "dim -5"});
  EXPECT_EQ(unsqueeze(x, -4).shape(), (Shape{1, 2, 3, 4}));
  EXPECT_EQ(unsqueeze(x, 3).shape(), (Shape{2, 3, 4, 1}));
}

TEST(View, BadExpandsNameTheOp) {
  const Tensor x = iota({3, 1});
  expect_error([&] { expand(x, {4, 2}); }, {"[expand]", "[3, 1]", "[4, 2]", "size-1"});
  expect_error([&] { expand(x, {1}); }, {"[expand]", "fewer dims"});
  expect_error([&] { expand(x, {-1, 3, 1}); }, {"[expand]", "leading"});
  EXPECT_EQ(expand(x, {2, -1, 5}).shape(), (Shape{2, 3, 5}));
}

TEST(View, BadCatAndSplitNameTheOp) {
  const Tensor a = iota({2, 3});
  expect_error([] { cat({}, 0); }, {"[cat]", "at least one"});
  expect_error([&] { cat({a, iota({2, 4})}, 0); }, {"[cat]", "tensor 1", "[2, 4]"});
  expect_error([&] { cat({a, iota({2, 3, 1})}, 0); }, {"[cat]", "tensor 1"});
  expect_error([&] { cat({a, a.to(DType::f32)}, 0); }, {"[cat]", "dtype"});
  expect_error([&] { cat({a, a}, 2); }, {"[cat]", "dim 2"});
  expect_error([&] { split(a, 0, 1); }, {"[split]", "split_size"});
  expect_error([&] { split(a, {1, 1}, 1); }, {"[split]", "add up to 2", "size 3"});
  expect_error([&] { split(a, {4, -1}, 1); }, {"[split]", "negative"});
  expect_error([&] { split(a, 1, 2); }, {"[split]", "dim 2"});
}

TEST(View, SliceFollowsPythonBounds) {
  const Tensor x = iota({10});
  EXPECT_EQ(values(slice(x, 0, -3, 100)), (std::vector<double>{7, 8, 9}));
  EXPECT_EQ(values(slice(x, 0, -100, 2)), (std::vector<double>{0, 1}));
  EXPECT_EQ(values(slice(x, 0, 1, -1, 3)), (std::vector<double>{1, 4, 7}));
  EXPECT_EQ(slice(x, 0, 8, 2).numel(), 0);
  EXPECT_EQ(slice(x, 0, 10, 20).numel(), 0);
  EXPECT_EQ(slice(x, 0, 0, 10, 20).shape(), (Shape{1}));
}

TEST(View, SplitCoversTheDimInOrder) {
  const Tensor x = iota({7, 2});
  const std::vector<Tensor> pieces = split(x, 3, 0);
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[0].shape(), (Shape{3, 2}));
  EXPECT_EQ(pieces[2].shape(), (Shape{1, 2}));
  EXPECT_EQ(values(pieces[2]), (std::vector<double>{12, 13}));
  EXPECT_EQ(split(x, 7, 0).size(), 1u);
  EXPECT_EQ(split(x, 100, 0).size(), 1u);
  EXPECT_EQ(split(zeros({0, 2}), 3, 0).size(), 1u);
  const std::vector<Tensor> sized = split(x, {0, 2}, 1);
  EXPECT_EQ(sized[0].shape(), (Shape{7, 0}));
  EXPECT_EQ(values(sized[1]), values(x));
}

TEST(View, SqueezeAndFlattenEdgeCases) {
  const Tensor x = iota({2, 1, 3});
  EXPECT_EQ(squeeze(x, 0).shape(), (Shape{2, 1, 3}));
  EXPECT_EQ(squeeze(x, -2).shape(), (Shape{2, 3}));
  const Tensor scalar = full({}, 4.0);
  EXPECT_EQ(squeeze(scalar, 0).shape(), Shape{});
  EXPECT_EQ(flatten(scalar).shape(), (Shape{1}));
  EXPECT_EQ(unsqueeze(scalar, 0).shape(), (Shape{1}));
  EXPECT_EQ(flatten(x, 1).shape(), (Shape{2, 3}));
  EXPECT_EQ(flatten(x, 0, 0).shape(), (Shape{2, 1, 3}));
}

TEST(View, CatConvertsNothingAndKeepsValues) {
  const Tensor a = from_vector<int64_t>({1, 2, 3, 4}, {2, 2});
  const Tensor b = from_vector<int64_t>({5, 6}, {2, 1});
  const Tensor c = cat({a, b, a.transpose(0, 1)}, 1);
  EXPECT_EQ(c.dtype(), DType::i64);
  EXPECT_EQ(c.shape(), (Shape{2, 5}));
  EXPECT_EQ(c.to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 5, 1, 3, 3, 4, 6, 2, 4}));
  EXPECT_NE(c.storage(), a.storage());
}

}  // namespace
}  // namespace kiln
