#include <gtest/gtest.h>

#include "core/ops.h"
#include "models/gpt.h"

namespace kiln::train {
namespace {

// What the trainer's gradient accumulation relies on: k micro-batches, each loss divided by k,
// accumulate the same gradient as one k-times larger batch.
TEST(GradientAccumulation, MicroBatchesEqualOneLargeBatch) {
  models::GPTConfig config;
  config.vocab_size = 17;
  config.block_size = 8;
  config.n_layer = 2;
  config.n_head = 2;
  config.n_embd = 16;
  models::GPT model(config);
  model.to(DType::f64);
  Generator gen(5);
  const Tensor ids = randint(0, 17, {4, 8}, TensorOptions{DType::i64}, &gen);
  const Tensor targets = randint(0, 17, {4, 8}, TensorOptions{DType::i64}, &gen);
  auto loss_of = [&](const Tensor& x, const Tensor& y) {
    const Tensor logits = model.forward(x);
    return cross_entropy(logits.reshape({-1, 17}), y.reshape({-1}));
  };

  loss_of(ids, targets).backward();
  std::vector<std::vector<double>> whole;
  for (const Tensor& p : model.parameters()) whole.push_back(p.grad().to_vector<double>());
  model.zero_grad();

  const int k = 4;
  for (int i = 0; i < k; ++i)
    (loss_of(slice(ids, 0, i, i + 1), slice(targets, 0, i, i + 1)) / k).backward();
  const std::vector<Tensor> params = model.parameters();
  for (size_t p = 0; p < params.size(); ++p) {
    const std::vector<double> accumulated = params[p].grad().to_vector<double>();
    for (size_t i = 0; i < accumulated.size(); ++i)
      EXPECT_NEAR(accumulated[i], whole[p][i], 1e-12) << "parameter " << p << "[" << i << "]";
  }
}

}  // namespace
}  // namespace kiln::train
