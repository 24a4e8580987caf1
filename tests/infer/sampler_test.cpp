#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "infer/sampler.h"

namespace kiln::infer {
namespace {

const std::vector<float> kLogits = {1.0f, 3.0f, -2.0f, 2.5f, 0.0f, 2.9f};

TEST(Sampler, GreedyTakesTheFirstMaximum) {
  Generator gen(0);
  SamplingOptions greedy;
  greedy.greedy = true;
  EXPECT_EQ(sample_token(kLogits, greedy, gen), 1);
  EXPECT_EQ(sample_token(std::vector<float>{2, 5, 5}, greedy, gen), 1);
}

TEST(Sampler, TopKNeverLeavesItsSet) {
  Generator gen(1);
  SamplingOptions o;
  o.top_k = 2;
  std::set<int64_t> seen;
  for (int i = 0; i < 2000; ++i) seen.insert(sample_token(kLogits, o, gen));
  EXPECT_EQ(seen, (std::set<int64_t>{1, 5}));
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingP) {
  // Probabilities of kLogits sorted: token 1 (~0.35), 5 (~0.32), 3 (~0.21), ...
  Generator gen(2);
  SamplingOptions o;
  o.top_p = 0.6;
  std::set<int64_t> seen;
  for (int i = 0; i < 2000; ++i) seen.insert(sample_token(kLogits, o, gen));
  EXPECT_EQ(seen, (std::set<int64_t>{1, 5}));
  o.top_p = 0.01;
  for (int i = 0; i < 100; ++i) EXPECT_EQ(sample_token(kLogits, o, gen), 1);
}

TEST(Sampler, FrequenciesFollowTheTemperedDistribution) {
  Generator gen(3);
  SamplingOptions o;
  o.temperature = 2.0;
  std::vector<int> counts(kLogits.size());
  const int draws = 60000;
  for (int i = 0; i < draws; ++i) ++counts[static_cast<size_t>(sample_token(kLogits, o, gen))];
  double total = 0;
  for (float l : kLogits) total += std::exp(l / 2.0);
  for (size_t i = 0; i < kLogits.size(); ++i)
    EXPECT_NEAR(counts[i] / double(draws), std::exp(kLogits[i] / 2.0) / total, 0.01) << i;
}

TEST(Sampler, SameSeedSameChoices) {
  SamplingOptions o;
  Generator a(9), b(9);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(sample_token(kLogits, o, a), sample_token(kLogits, o, b));
}

TEST(Sampler, BadOptionsAreErrors) {
  Generator gen(0);
  SamplingOptions o;
  o.temperature = 0;
  EXPECT_THROW(sample_token(kLogits, o, gen), Error);
  o = {};
  o.top_p = 1.5;
  EXPECT_THROW(sample_token(kLogits, o, gen), Error);
  o = {};
  o.top_k = -1;
  EXPECT_THROW(sample_token(kLogits, o, gen), Error);
}

}  // namespace
}  // namespace kiln::infer
