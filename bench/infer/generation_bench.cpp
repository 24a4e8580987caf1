// Generation speed on the CPU: a GPT-2-small-shaped model (vocab 50257, context 1024, 768 wide,
// 12 heads, random weights) continues a 64-token prompt by 32 tokens, with the KV cache (the
// prompt is processed once, then each token is one position) and without it (every token
// recomputes the whole context). Arguments: n_layer (12 is GPT-2 small; 2 for a quick run) and
// whether the cache is used. Counters: tokens_per_s over the whole call (prefill included) and
// decode_tokens_per_s over the tokens after the first. One iteration each: a 12-layer run without
// the cache takes several seconds on two cores. See docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "infer/generation.h"
#include "models/gpt.h"

namespace {

constexpr int64_t kPromptTokens = 64;
constexpr int64_t kNewTokens = 32;

std::unique_ptr<kiln::models::GPT> gpt2_small_shaped(int64_t n_layer) {
  kiln::models::GPTConfig config;  // the defaults are GPT-2 small's
  config.n_layer = n_layer;
  config.seed = 1;
  return std::make_unique<kiln::models::GPT>(config);
}

void gpt2_generate(benchmark::State& state) {
  const int64_t n_layer = state.range(0);
  const bool use_cache = state.range(1) != 0;
  const auto model = gpt2_small_shaped(n_layer);
  std::vector<int64_t> prompt;
  for (int64_t i = 0; i < kPromptTokens; ++i) prompt.push_back((i * 7919 + 13) % 50257);
  kiln::infer::GenerationOptions options;
  options.max_new_tokens = kNewTokens;
  options.sampling.greedy = true;
  options.use_cache = use_cache;

  using Clock = std::chrono::steady_clock;
  double total_seconds = 0, decode_seconds = 0;
  for (auto _ : state) {
    const Clock::time_point start = Clock::now();
    Clock::time_point first;
    int64_t produced = 0;
    const auto out = kiln::infer::generate(*model, {prompt}, options, [&](size_t, int64_t) {
      if (produced++ == 0) first = Clock::now();
    });
    const Clock::time_point end = Clock::now();
    benchmark::DoNotOptimize(out.data());
    total_seconds += std::chrono::duration<double>(end - start).count();
    decode_seconds += std::chrono::duration<double>(end - first).count();
  }
  const double runs = static_cast<double>(state.iterations());
  state.counters["tokens_per_s"] = runs * kNewTokens / total_seconds;
  state.counters["decode_tokens_per_s"] = runs * (kNewTokens - 1) / decode_seconds;
  state.counters["parameters"] = static_cast<double>(model->parameter_count());
}

}  // namespace

BENCHMARK(gpt2_generate)
    ->ArgNames({"n_layer", "kv_cache"})
    ->ArgsProduct({{2, 12}, {1, 0}})
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

BENCHMARK_MAIN();
