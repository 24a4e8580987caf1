#include "core/ops/embedding.h"
#include "core/autograd.h"
#include "core/random.h"
#include "tests/ops/op_harness.h"
#include "tests/require_cuda.h"

namespace kiln::testing {
namespace {

// out[..., d] = weight[ids[...], d].
RefTensor ref_embedding(const RefTensor& weight, const RefTensor& ids) {
  const int64_t dim = weight.shape[1];
  Shape shape = ids.shape;
  shape.push_back(dim);
  RefTensor out(shape);
  for (int64_t i = 0; i < ids.numel(); ++i) {
    const auto row = static_cast<int64_t>(ids.data[static_cast<size_t>(i)]);
    for (int64_t d = 0; d < dim; ++d)
      out.data[static_cast<size_t>(i * dim + d)] = weight.at({row, d});
  }
  return out;
}

OpCase embedding_case(const std::string& name, int64_t vocab, int64_t dim, Shape ids_shape,
                      bool int32_ids = false) {
  OpCase c;
  c.name = name;
  c.inputs = {InputSpec::real({vocab, dim}), InputSpec::index(std::move(ids_shape), vocab)};
  c.op = [int32_ids](const std::vector<Tensor>& in) {
    return embedding(in[0], int32_ids ? in[1].to(DType::i32) : in[1]);
  };
  c.reference = [](const std::vector<RefTensor>& in) { return ref_embedding(in[0], in[1]); };
  return c;
}

std::vector<OpCase> embedding_cases() {
  std::vector<OpCase> cases;
  // Fewer rows than ids, so ids repeat and the backward has to add, not overwrite.
  cases.push_back(embedding_case("repeats_5x3_ids7", 5, 3, {7}));
  cases.push_back(embedding_case("repeats_7x4_ids3x7", 7, 4, {3, 7}));
  cases.push_back(embedding_case("single_row_1x1_ids4", 1, 1, {4}));
  cases.push_back(embedding_case("scalar_id_6x5", 6, 5, {}));
  cases.push_back(embedding_case("int32_ids_4x6_ids2x5", 4, 6, {2, 5}, true));
  cases.push_back(embedding_case("wide_3x33_ids2x2x3", 3, 33, {2, 2, 3}));
  cases.push_back(embedding_case("tall_32x2_ids31", 32, 2, {31}));
  OpCase big = embedding_case("big_64x33_ids4097", 64, 33, {4097});
  big.check_gradients = false;
  cases.push_back(std::move(big));
  OpCase big32 = embedding_case("big_int32_50x129_ids2x300", 50, 129, {2, 300}, true);
  big32.check_gradients = false;
  cases.push_back(std::move(big32));
  return cases;
}

KILN_OP_CASES(Embedding, embedding_cases());

template <typename F>
void expect_error(F&& f, const std::vector<std::string>& fragments) {
  try {
    f();
    ADD_FAILURE() << "expected a kiln::Error";
  } catch (const Error& e) {
    for (const std::string& fragment : fragments)
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
          << "'" << fragment << "' not in: " << e.what();
  }
}

TEST(Embedding, OutOfRangeIdNamesTheIdAndTheTableSize) {
  const Tensor weight = zeros({10, 4});
  expect_error(
      [&] {
        embedding(weight, from_vector<int64_t>({1, 10, 2}, {3}));
      },
      {"[embedding]", "id 10", "10 embeddings"});
  expect_error([&] { embedding(weight, from_vector<int32_t>({-1}, {1})); },
               {"[embedding]", "id -1", "10 embeddings"});
}

TEST(Embedding, BadArgumentsNameTheOp) {
  const Tensor ids = from_vector<int64_t>({0}, {1});
  expect_error([&] { embedding(zeros({10}), ids); }, {"[embedding]", "weight"});
  expect_error(
      [&] {
        embedding(zeros({10, 4}), from_vector<float>({0}, {1}));
      },
      {"[embedding]", "f32"});
  expect_error([&] { embedding(zeros({10, 4}, TensorOptions{DType::i64}), ids); }, {"[embedding]"});
}

TEST(Embedding, RepeatedIdsAccumulateTheirGradients) {
  Tensor weight = zeros({3, 2}, TensorOptions{DType::f64});
  weight.set_requires_grad(true);
  const Tensor out = embedding(weight, from_vector<int64_t>({1, 1, 2, 1}, {2, 2}));
  EXPECT_EQ(out.shape(), (Shape{2, 2, 2}));
  out.backward(from_vector<double>({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2}));
  EXPECT_EQ(weight.grad().to_vector<double>(), (std::vector<double>{0, 0, 11, 14, 5, 6}));
}

// Big enough to run threaded; the sums must equal a serial accumulation in the same order.
TEST(Embedding, ParallelBackwardMatchesSerialSums) {
  const int64_t vocab = 10, dim = 1000, n = 3000;
  Generator gen(3);
  const Tensor ids = randint(0, vocab, {n}, TensorOptions{DType::i64}, &gen);
  Tensor weight = zeros({vocab, dim});
  weight.set_requires_grad(true);
  const Tensor g = rand({n, dim}, {}, &gen);
  embedding(weight, ids).backward(g);
  const std::vector<int64_t> id = ids.to_vector<int64_t>();
  const std::vector<float> gv = g.to_vector<float>();
  std::vector<float> expected(static_cast<size_t>(vocab * dim), 0.0f);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t d = 0; d < dim; ++d)
      expected[static_cast<size_t>(id[static_cast<size_t>(i)] * dim + d)] +=
          gv[static_cast<size_t>(i * dim + d)];
  EXPECT_EQ(weight.grad().to_vector<float>(), expected);
}

// Sorted by id and summed in position order, the CUDA backward repeats bit for bit and, in f32,
// adds in the CPU kernel's order, so it equals the CPU gradient exactly.
TEST(Embedding, CudaBackwardIsDeterministicAndMatchesTheCpu) {
  KILN_SKIP_WITHOUT_CUDA();
  const int64_t vocab = 50, dim = 768, n = 4097;
  Generator gen(5);
  const Tensor ids = randint(0, vocab, {n}, TensorOptions{DType::i64}, &gen);
  const Tensor g = rand({n, dim}, {}, &gen, -1.0, 1.0);
  auto gradient = [&](Device device, DType id_type) {
    Tensor weight = zeros({vocab, dim}, TensorOptions{DType::f32, device});
    weight.set_requires_grad(true);
    embedding(weight, ids.to(id_type).to(device)).backward(g.to(device));
    return weight.grad().to_vector<float>();
  };
  const std::vector<float> on_cpu = gradient(Device::cpu(), DType::i64);
  const std::vector<float> first = gradient(Device::cuda(0), DType::i64);
  EXPECT_EQ(first, gradient(Device::cuda(0), DType::i64));
  EXPECT_EQ(first, gradient(Device::cuda(0), DType::i32));
  EXPECT_EQ(first, on_cpu);
}

TEST(Embedding, CudaOutOfRangeIdNamesTheId) {
  KILN_SKIP_WITHOUT_CUDA();
  const Tensor weight = zeros({10, 4}, TensorOptions{DType::f32, Device::cuda(0)});
  expect_error(
      [&] {
        embedding(weight, from_vector<int64_t>({1, 12, 2, 10}, {4}, Device::cuda(0)));
      },
      {"[embedding]", "id 12", "position 1", "10 embeddings"});
}

}  // namespace
}  // namespace kiln::testing
