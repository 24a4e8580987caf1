#include <gtest/gtest.h>

#include <cmath>

#include "core/ops.h"
#include "models/gpt.h"
#include "tests/models/gpt_reference.h"

namespace kiln::testing {
namespace {

models::GPTConfig tiny_config() {
  models::GPTConfig c;
  c.vocab_size = 13;
  c.block_size = 9;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 8;
  c.seed = 7;
  return c;
}

// GPT-2's zero biases and unit LayerNorms would hide a bias read from the wrong place.
void randomise_all(models::GPT& model, uint64_t seed) {
  NoGradGuard no_grad;
  Generator gen(seed);
  for (const Tensor& p : model.parameters())
    copy_(p, randn(p.shape(), TensorOptions{p.dtype()}, &gen, 0.0, 0.3));
}

Tensor ids_tensor(const std::vector<int64_t>& ids) {
  return from_vector(ids, {1, static_cast<int64_t>(ids.size())});
}

double max_relative_gap(const std::vector<std::vector<double>>& expected, const Tensor& logits) {
  const std::vector<double> got = logits.to_vector<double>();
  double diff = 0, norm = 0;
  size_t k = 0;
  for (const auto& row : expected)
    for (double v : row) {
      diff += (got[k] - v) * (got[k] - v);
      norm += v * v;
      ++k;
    }
  return std::sqrt(diff / norm);
}

class GptAgainstReference : public ::testing::TestWithParam<models::GPTConfig> {};

TEST_P(GptAgainstReference, ForwardMatchesFloat64Reference) {
  models::GPT model(GetParam());
  model.to(DType::f64);
  randomise_all(model, 3);
  const std::vector<int64_t> ids = {1, 5, 12, 0, 7, 7, 3, 11, 2};
  const Tensor logits = model.forward(ids_tensor(ids));
  ASSERT_EQ(logits.shape(), (Shape{1, 9, GetParam().vocab_size}));
  EXPECT_LE(
      max_relative_gap(reference_gpt_logits(GetParam(), parameters_as_doubles(model), ids), logits),
      1e-10);
}

TEST_P(GptAgainstReference, BackwardMatchesFiniteDifferencesOfTheReference) {
  const models::GPTConfig config = GetParam();
  models::GPT model(config);
  model.to(DType::f64);
  randomise_all(model, 4);
  const std::vector<int64_t> ids = {4, 9, 1, 1, 12, 6, 0};
  const std::vector<int64_t> targets = {9, 1, 1, 12, 6, 0, 3};
  const Tensor logits = model.forward(ids_tensor(ids));
  const Tensor loss =
      cross_entropy(logits.reshape({7, config.vocab_size}), from_vector(targets, {7}));
  loss.backward();
  ParamMap params = parameters_as_doubles(model);
  EXPECT_NEAR(loss.item(), reference_loss(reference_gpt_logits(config, params, ids), targets),
              1e-12);

  const double h = 1e-6;
  for (const auto& [name, param] : model.named_parameters()) {
    ASSERT_TRUE(param.grad().defined()) << name << " received no gradient";
    const std::vector<double> grad = param.grad().to_vector<double>();
    // A spread of elements of every parameter: first, last and a few in between.
    const size_t n = grad.size();
    for (size_t k : {size_t{0}, n / 3, n / 2, (2 * n) / 3, n - 1}) {
      std::vector<double>& values = params[name];
      const double saved = values[k];
      values[k] = saved + h;
      const double up = reference_loss(reference_gpt_logits(config, params, ids), targets);
      values[k] = saved - h;
      const double down = reference_loss(reference_gpt_logits(config, params, ids), targets);
      values[k] = saved;
      const double numeric = (up - down) / (2 * h);
      EXPECT_NEAR(grad[k], numeric, 1e-7 + 1e-5 * std::abs(numeric)) << name << "[" << k << "]";
    }
  }
}

models::GPTConfig untied_without_bias() {
  models::GPTConfig c = tiny_config();
  c.bias = false;
  c.tie_word_embeddings = false;
  c.n_head = 4;
  return c;
}

INSTANTIATE_TEST_SUITE_P(Configs, GptAgainstReference,
                         ::testing::Values(tiny_config(), untied_without_bias()),
                         [](const auto& info) {
                           return info.index == 0 ? "tied_with_bias" : "untied_no_bias";
                         });

TEST(Gpt, ParameterNamesFollowHuggingFace) {
  models::GPT model(tiny_config());
  std::vector<std::string> names;
  for (const auto& [name, t] : model.named_parameters()) names.push_back(name);
  const std::vector<std::string> first = {"wte.weight",
                                          "wpe.weight",
                                          "h.0.ln_1.weight",
                                          "h.0.ln_1.bias",
                                          "h.0.attn.c_attn.weight",
                                          "h.0.attn.c_attn.bias",
                                          "h.0.attn.c_proj.weight",
                                          "h.0.attn.c_proj.bias",
                                          "h.0.ln_2.weight",
                                          "h.0.ln_2.bias",
                                          "h.0.mlp.c_fc.weight",
                                          "h.0.mlp.c_fc.bias",
                                          "h.0.mlp.c_proj.weight",
                                          "h.0.mlp.c_proj.bias"};
  ASSERT_GE(names.size(), first.size());
  EXPECT_EQ(std::vector<std::string>(names.begin(), names.begin() + 14), first);
  EXPECT_EQ(names.back(), "ln_f.bias");
  EXPECT_EQ(model.parameter("h.1.attn.c_attn.weight").shape(), (Shape{24, 8}));
}

TEST(Gpt, InitialisationFollowsGpt2) {
  models::GPTConfig c;
  c.vocab_size = 500;
  c.block_size = 64;
  c.n_layer = 8;
  c.n_head = 4;
  c.n_embd = 128;
  models::GPT model(c);
  auto stddev = [](const Tensor& t) {
    const std::vector<double> v = t.to_vector<double>();
    double sum = 0, sq = 0;
    for (double x : v) sum += x, sq += x * x;
    const double mean = sum / static_cast<double>(v.size());
    return std::sqrt(sq / static_cast<double>(v.size()) - mean * mean);
  };
  EXPECT_NEAR(stddev(model.parameter("wte.weight")), 0.02, 0.001);
  EXPECT_NEAR(stddev(model.parameter("h.3.mlp.c_fc.weight")), 0.02, 0.001);
  EXPECT_NEAR(stddev(model.parameter("h.3.mlp.c_proj.weight")), 0.02 / std::sqrt(16.0), 0.0005);
  EXPECT_NEAR(stddev(model.parameter("h.3.attn.c_proj.weight")), 0.02 / std::sqrt(16.0), 0.0005);
  EXPECT_EQ(model.parameter("h.0.ln_1.weight").to_vector<float>(), std::vector<float>(128, 1.0f));
  EXPECT_EQ(model.parameter("h.0.attn.c_attn.bias").to_vector<float>(),
            std::vector<float>(384, 0.0f));
}

TEST(Gpt, DropoutOnlyActsInTraining) {
  models::GPTConfig c = tiny_config();
  c.dropout = 0.5;
  models::GPT model(c);
  const Tensor ids = ids_tensor({1, 2, 3});
  model.eval();
  const std::vector<float> a = model.forward(ids).to_vector<float>();
  EXPECT_EQ(a, model.forward(ids).to_vector<float>());
  model.train();
  EXPECT_NE(a, model.forward(ids).to_vector<float>());
}

TEST(Gpt, AttentionWeightsAreCausalDistributionsAndChangeNothing) {
  models::GPT model(tiny_config());
  model.eval();
  const Tensor ids = ids_tensor({3, 1, 4, 1, 5});
  std::vector<Tensor> weights;
  const std::vector<float> with = model.forward(ids, nullptr, &weights).to_vector<float>();
  const std::vector<float> without = model.forward(ids).to_vector<float>();
  for (size_t i = 0; i < with.size(); ++i) EXPECT_NEAR(with[i], without[i], 1e-5);
  ASSERT_EQ(weights.size(), 2u);
  ASSERT_EQ(weights[0].shape(), (Shape{1, 2, 5, 5}));
  const std::vector<float> w = weights[1].to_vector<float>();
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t i = 0; i < 5; ++i) {
      double row = 0;
      for (int64_t j = 0; j < 5; ++j) {
        const float v = w[static_cast<size_t>((h * 5 + i) * 5 + j)];
        if (j > i) {
          EXPECT_EQ(v, 0.0f);
        }
        row += v;
      }
      EXPECT_NEAR(row, 1.0, 1e-5);
    }
}

TEST(Gpt, BadInputIsAClearError) {
  models::GPT model(tiny_config());
  EXPECT_THROW(model.forward(from_vector<int64_t>({1, 2}, {2})), Error);        // not [B, T]
  EXPECT_THROW(model.forward(ids_tensor(std::vector<int64_t>(10, 1))), Error);  // > block_size
  EXPECT_THROW(model.forward(ids_tensor({1, 13})), Error);                      // id >= vocab
  models::GPTConfig bad = tiny_config();
  bad.n_embd = 10;
  bad.n_head = 4;
  try {
    models::GPT broken(bad);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("n_head"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kiln::testing
