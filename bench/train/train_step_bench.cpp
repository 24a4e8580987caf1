// CPU training throughput of a small GPT (the Shakespeare-char shape: vocab 65, context 128,
// 4 layers, 4 heads, 128 wide): one iteration is a full optimizer step on a 16 x 128 batch of
// random ids — forward, cross-entropy, backward, AdamW, zero_grad — as the trainer runs it.
// llama_train_step is a Llama of the same shape and parameter count (SwiGLU 344 wide, RoPE,
// RMSNorm, 4 kv heads), so the two rates compare the families.
// bench/baselines/train_step_torch.py is the same model and step in PyTorch, and
// scripts/bench_train_vs_torch.sh runs both on the same thread count. See docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>

#include "core/ops/loss.h"
#include "core/random.h"
#include "models/gpt.h"
#include "models/llama.h"
#include "train/adamw.h"

namespace {

constexpr int64_t kBatch = 16;
constexpr int64_t kContext = 128;
// Untimed steps first: the first ones allocate the optimizer state and warm the allocator.
constexpr int kWarmupSteps = 3;

constexpr int64_t kVocab = 65;

void train_steps(benchmark::State& state, kiln::models::CausalLM& model) {
  model.train();
  kiln::train::AdamW optimizer(model.named_parameters());

  kiln::Generator gen(2);
  const kiln::Tensor ids =
      kiln::randint(0, kVocab, {kBatch, kContext}, kiln::TensorOptions{kiln::DType::i64}, &gen);
  const kiln::Tensor targets =
      kiln::randint(0, kVocab, {kBatch * kContext}, kiln::TensorOptions{kiln::DType::i64}, &gen);

  const auto step = [&] {
    const kiln::Tensor logits = model.forward(ids);
    const kiln::Tensor loss =
        kiln::cross_entropy(logits.reshape({kBatch * kContext, kVocab}), targets);
    loss.backward();
    optimizer.step();
    optimizer.zero_grad();
    return loss;
  };
  for (int i = 0; i < kWarmupSteps; ++i) step();

  // Timed here rather than with a rate counter, whose divisor is CPU time in some versions of
  // the library: the step runs on every OpenMP thread, so wall-clock time is what counts.
  using Clock = std::chrono::steady_clock;
  double seconds = 0;
  for (auto _ : state) {
    const Clock::time_point start = Clock::now();
    const kiln::Tensor loss = step();
    seconds += std::chrono::duration<double>(Clock::now() - start).count();
    benchmark::DoNotOptimize(loss.raw_data());
  }
  state.counters["tokens_per_s"] =
      static_cast<double>(state.iterations() * kBatch * kContext) / seconds;
  state.counters["parameters"] = static_cast<double>(model.parameter_count());
}

void gpt_train_step(benchmark::State& state) {
  kiln::models::GPTConfig config;
  config.vocab_size = kVocab;
  config.block_size = kContext;
  config.n_layer = 4;
  config.n_head = 4;
  config.n_embd = 128;
  config.dropout = 0.0;
  config.bias = true;
  config.seed = 1;
  kiln::models::GPT model(config);
  train_steps(state, model);
}

void llama_train_step(benchmark::State& state) {
  kiln::models::LlamaConfig config;
  config.vocab_size = kVocab;
  config.block_size = kContext;
  config.n_layer = 4;
  config.n_head = 4;
  config.n_kv_head = 4;
  config.n_embd = 128;
  config.intermediate_size = 344;
  config.tie_word_embeddings = true;
  config.seed = 1;
  kiln::models::Llama model(config);
  train_steps(state, model);
}

}  // namespace

BENCHMARK(gpt_train_step)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(llama_train_step)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
