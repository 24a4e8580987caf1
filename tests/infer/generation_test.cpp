#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/ops.h"
#include "infer/attention_maps.h"
#include "infer/generation.h"
#include "infer/perplexity.h"
#include "models/hf.h"

namespace kiln::infer {
namespace {
namespace fs = std::filesystem;

const fs::path kFixture = fs::path(KILN_MODEL_FIXTURES) / "tiny_gpt2";

std::unique_ptr<models::GPT> fixture_model() {
  return models::load_gpt2(kFixture);
}

TEST(Generation, KvCacheMatchesFullRecomputationTokenForToken) {
  auto model = fixture_model();
  for (const bool greedy : {true, false}) {
    GenerationOptions o;
    o.max_new_tokens = 15;
    o.sampling.greedy = greedy;
    o.sampling.temperature = 0.8;
    o.seed = 11;
    o.use_cache = true;
    const auto cached = generate(*model, {{5, 17, 3}}, o);
    o.use_cache = false;
    const auto full = generate(*model, {{5, 17, 3}}, o);
    EXPECT_EQ(cached, full) << (greedy ? "greedy" : "sampled");
    EXPECT_EQ(cached[0].size(), 15u);
  }
}

TEST(Generation, GreedyMatchesAReferenceArgmaxLoop) {
  auto model = fixture_model();
  std::vector<int64_t> sequence = {1, 2, 3, 4};
  std::vector<int64_t> expected;
  {
    NoGradGuard no_grad;
    for (int step = 0; step < 8; ++step) {
      const int64_t t = static_cast<int64_t>(sequence.size());
      const std::vector<float> logits =
          model->forward(from_vector(sequence, {1, t})).to_vector<float>();
      const int64_t vocab = model->config().vocab_size;
      const auto last = logits.begin() + (t - 1) * vocab;
      const int64_t next = std::max_element(last, last + vocab) - last;
      sequence.push_back(next);
      expected.push_back(next);
    }
  }
  GenerationOptions o;
  o.max_new_tokens = 8;
  o.sampling.greedy = true;
  EXPECT_EQ(generate(*model, {{1, 2, 3, 4}}, o)[0], expected);
}

TEST(Generation, BatchingDoesNotChangeResults) {
  auto model = fixture_model();
  GenerationOptions o;
  o.max_new_tokens = 10;
  o.seed = 5;
  const std::vector<std::vector<int64_t>> prompts = {{1, 2, 3}, {9, 8, 7}, {4, 4}};
  const auto together = generate(*model, prompts, o);
  std::vector<std::vector<int64_t>> streamed(prompts.size());
  generate(*model, prompts, o, [&](size_t p, int64_t token) { streamed[p].push_back(token); });
  EXPECT_EQ(streamed, together);
  GenerationOptions greedy = o;
  greedy.sampling.greedy = true;
  const auto batched = generate(*model, prompts, greedy);
  for (size_t i = 0; i < prompts.size(); ++i)
    EXPECT_EQ(batched[i], generate(*model, {prompts[i]}, greedy)[0]) << i;
}

TEST(Generation, SameSeedSameTextAndEosStops) {
  auto model = fixture_model();
  GenerationOptions o;
  o.max_new_tokens = 12;
  o.seed = 3;
  const auto a = generate(*model, {{1, 2}}, o);
  EXPECT_EQ(a, generate(*model, {{1, 2}}, o));
  o.eos_id = a[0][2];
  const auto stopped = generate(*model, {{1, 2}}, o);
  EXPECT_LE(stopped[0].size(), 3u);
  EXPECT_EQ(stopped[0].back(), a[0][2]);
}

TEST(Generation, RunsPastTheContextWithOrWithoutTheCache) {
  auto model = fixture_model();  // block_size 24
  GenerationOptions o;
  o.max_new_tokens = 40;
  o.seed = 4;
  const auto cached = generate(*model, {{1, 2, 3}}, o);
  EXPECT_EQ(cached[0].size(), 40u);
  o.use_cache = false;
  EXPECT_EQ(cached, generate(*model, {{1, 2, 3}}, o));
}

// The window past the context: while it fits, it starts at 0; when one more token would
// overflow it, it restarts at the newest ceil(block / 2) tokens.
TEST(Generation, WindowSlidesByHalfAWindowWhenFull) {
  EXPECT_EQ(next_window_start(3, 0, 24), 0);
  EXPECT_EQ(next_window_start(24, 0, 24), 0);
  EXPECT_EQ(next_window_start(25, 0, 24), 13);  // keeps tokens 13..24: 12 of them
  EXPECT_EQ(next_window_start(37, 13, 24), 13);
  EXPECT_EQ(next_window_start(38, 13, 24), 26);
  EXPECT_EQ(next_window_start(10, 0, 7), 6);  // odd block: keeps 4
  EXPECT_EQ(next_window_start(2, 0, 1), 1);   // block 1: every step is a new window
  EXPECT_EQ(next_window_start(3, 1, 1), 2);
}

// Past the context, the cache is cleared once per window and the kept tokens prefilled in one
// pass; every other step runs one position. Without the cache every step recomputes the whole
// window.
TEST(Generation, PastTheContextTheCacheIsRefilledOncePerWindow) {
  auto model = fixture_model();                    // block_size 24
  std::vector<std::pair<int64_t, int64_t>> calls;  // (new positions, cached positions)
  GenerationOptions o;
  o.max_new_tokens = 40;
  o.sampling.greedy = true;
  o.on_forward = [&](int64_t positions, int64_t cached) { calls.emplace_back(positions, cached); };
  generate(*model, {{1, 2, 3}}, o);
  std::vector<std::pair<int64_t, int64_t>> expected = {{3, 0}};    // the prompt's prefill
  for (int64_t c = 3; c <= 23; ++c) expected.emplace_back(1, c);   // lengths 4..24
  expected.emplace_back(12, 0);                                    // length 25: tokens 13..24
  for (int64_t c = 12; c <= 23; ++c) expected.emplace_back(1, c);  // lengths 26..37
  expected.emplace_back(12, 0);                                    // length 38: tokens 26..37
  for (int64_t c = 12; c <= 15; ++c) expected.emplace_back(1, c);  // lengths 39..42
  EXPECT_EQ(calls, expected);

  calls.clear();
  o.use_cache = false;
  generate(*model, {{1, 2, 3}}, o);
  ASSERT_EQ(calls.size(), 40u);
  for (size_t i = 0; i < calls.size(); ++i) {
    const int64_t length = 3 + static_cast<int64_t>(i);
    const int64_t window = length <= 24 ? length : length < 38 ? length - 13 : length - 26;
    EXPECT_EQ(calls[i], std::make_pair(window, int64_t{0})) << "length " << length;
  }
}

// Greedy past the context against a plain loop: argmax of a full forward over exactly the
// window next_window_start gives, no cache.
TEST(Generation, PastTheContextGreedyMatchesAReferenceLoopOverTheWindow) {
  auto model = fixture_model();
  const int64_t block = model->config().block_size;
  std::vector<int64_t> sequence = {7, 3, 9, 1, 4};
  std::vector<int64_t> expected;
  {
    NoGradGuard no_grad;
    int64_t start = 0;
    for (int step = 0; step < 50; ++step) {
      const int64_t length = static_cast<int64_t>(sequence.size());
      start = next_window_start(length, start, block);
      const std::vector<int64_t> window(sequence.begin() + start, sequence.end());
      const int64_t t = length - start;
      const std::vector<float> logits =
          model->forward(from_vector(window, {1, t})).to_vector<float>();
      const int64_t vocab = model->config().vocab_size;
      const auto last = logits.begin() + (t - 1) * vocab;
      const int64_t next = std::max_element(last, last + vocab) - last;
      sequence.push_back(next);
      expected.push_back(next);
    }
  }
  GenerationOptions o;
  o.max_new_tokens = 50;
  o.sampling.greedy = true;
  EXPECT_EQ(generate(*model, {{7, 3, 9, 1, 4}}, o)[0], expected);
}

TEST(Generation, BadPromptsAreErrors) {
  auto model = fixture_model();
  GenerationOptions o;
  EXPECT_THROW(generate(*model, {{}}, o), Error);
  EXPECT_THROW(generate(*model, {std::vector<int64_t>(25, 1)}, o), Error);
  EXPECT_THROW(generate(*model, {{1, 577}}, o), Error);
}

TEST(Perplexity, MatchesTransformersLoss) {
  auto model = fixture_model();
  std::ifstream in(kFixture / "expected.json");
  const nlohmann::json want = nlohmann::json::parse(in);
  const LossResult r = evaluate_loss(*model, want["ids"].get<std::vector<int64_t>>());
  EXPECT_NEAR(r.loss, want["loss"].get<double>(), 1e-4 * want["loss"].get<double>());
  EXPECT_EQ(r.tokens, 13);
  EXPECT_NEAR(r.perplexity, std::exp(r.loss), 1e-9);
}

TEST(Perplexity, SlidingWindowScoresEachTokenOnceWithMaximalContext) {
  auto model = fixture_model();  // block_size 24
  std::vector<int64_t> ids;
  for (int i = 0; i < 60; ++i) ids.push_back((i * 7 + 3) % 577);
  // stride 1: every token t >= 24 is scored with exactly the 24 tokens before it.
  const LossResult r = evaluate_loss(*model, ids, 1);
  double total = 0;
  {
    NoGradGuard no_grad;
    for (size_t t = 1; t < ids.size(); ++t) {
      const size_t from = t > 24 ? t - 24 : 0;
      const std::vector<int64_t> context(ids.begin() + static_cast<long>(from),
                                         ids.begin() + static_cast<long>(t));
      const int64_t n = static_cast<int64_t>(context.size());
      const Tensor logits = model->forward(from_vector(context, {1, n}));
      const Tensor last = slice(logits.reshape({n, 577}), 0, n - 1, n);
      total += cross_entropy(last, from_vector<int64_t>({ids[t]}, {1})).item();
    }
  }
  EXPECT_NEAR(r.loss, total / 59.0, 1e-5);
  EXPECT_EQ(r.tokens, 59);
  EXPECT_THROW(evaluate_loss(*model, {1}), Error);
}

TEST(AttentionMaps, ExportWritesTokensAndOneMatrixPerHead) {
  auto model = fixture_model();
  const fs::path out = fs::path(::testing::TempDir()) / "kiln_attention_maps";
  fs::remove_all(out);
  export_attention_maps(*model, {3, 1, 4}, {"a", "b\"", "c"}, out);
  EXPECT_TRUE(fs::exists(out / "tokens.csv"));
  for (int l = 0; l < 2; ++l)
    for (int h = 0; h < 4; ++h)
      EXPECT_TRUE(
          fs::exists(out / ("layer" + std::to_string(l) + "_head" + std::to_string(h) + ".csv")));
  std::ifstream in(out / "layer1_head2.csv");
  std::string line;
  int rows = 0;
  while (std::getline(in, line)) {
    double sum = 0;
    size_t pos = 0;
    int col = 0;
    while (pos <= line.size()) {
      const size_t comma = line.find(',', pos);
      const double v = std::stod(line.substr(pos, comma - pos));
      if (col > rows) {
        EXPECT_EQ(v, 0.0);
      }
      sum += v;
      ++col;
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    EXPECT_EQ(col, 3);
    EXPECT_NEAR(sum, 1.0, 1e-4);
    ++rows;
  }
  EXPECT_EQ(rows, 3);
  std::ifstream tokens(out / "tokens.csv");
  std::string all((std::istreambuf_iterator<char>(tokens)), {});
  EXPECT_NE(all.find("1,1,\"b\"\"\""), std::string::npos) << all;
}

}  // namespace
}  // namespace kiln::infer
