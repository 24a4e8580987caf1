// Training throughput. CPU: a small GPT (the Shakespeare-char shape: vocab 65, context 128,
// 4 layers, 4 heads, 128 wide): one iteration is a full optimizer step on a 16 x 128 batch of
// random ids — forward, cross-entropy, backward, AdamW, zero_grad — as the trainer runs it.
// llama_train_step is a Llama of the same shape and parameter count (SwiGLU 344 wide, RoPE,
// RMSNorm, 4 kv heads), so the two rates compare the families. GPU (skipped without one):
// GPT-2 small against the Llama of its size, bf16.
// bench/baselines/train_step_torch.py is the same model and step in PyTorch, and
// scripts/bench_train_vs_torch.sh runs both on the same thread count. See docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>

#include "core/device.h"
#include "core/ops/loss.h"
#include "core/random.h"
#include "models/gpt.h"
#include "models/llama.h"
#include "train/adamw.h"

namespace {

// Untimed steps first: the first ones allocate the optimizer state and warm the allocator.
constexpr int kWarmupSteps = 3;

// The CPU rows: the Shakespeare-char shape on a 16 x 128 batch.
constexpr int64_t kVocab = 65;
constexpr int64_t kBatch = 16;
constexpr int64_t kContext = 128;

struct StepShape {
  int64_t vocab, batch, context;
};

// Times optimizer steps of `model` (already on its device and dtype) on a fixed random batch.
void train_steps(benchmark::State& state, kiln::models::CausalLM& model, const StepShape& shape) {
  model.train();
  kiln::train::AdamW optimizer(model.named_parameters());
  const kiln::Device device = model.parameters().front().device();

  kiln::Generator gen(2);
  const kiln::Tensor ids = kiln::randint(0, shape.vocab, {shape.batch, shape.context},
                                         kiln::TensorOptions{kiln::DType::i64}, &gen)
                               .to(device);
  const kiln::Tensor targets = kiln::randint(0, shape.vocab, {shape.batch * shape.context},
                                             kiln::TensorOptions{kiln::DType::i64}, &gen)
                                   .to(device);

  // item() copies the loss to the host, so a CUDA step is finished when it returns.
  const auto step = [&] {
    const kiln::Tensor logits = model.forward(ids);
    const kiln::Tensor loss =
        kiln::cross_entropy(logits.reshape({shape.batch * shape.context, shape.vocab}), targets);
    loss.backward();
    optimizer.step();
    optimizer.zero_grad();
    return loss.item();
  };
  for (int i = 0; i < kWarmupSteps; ++i) step();

  // Timed here rather than with a rate counter, whose divisor is CPU time in some versions of
  // the library: the step runs on every OpenMP thread, so wall-clock time is what counts.
  using Clock = std::chrono::steady_clock;
  double seconds = 0;
  for (auto _ : state) {
    const Clock::time_point start = Clock::now();
    const double loss = step();
    seconds += std::chrono::duration<double>(Clock::now() - start).count();
    benchmark::DoNotOptimize(loss);
  }
  state.counters["tokens_per_s"] =
      static_cast<double>(state.iterations() * shape.batch * shape.context) / seconds;
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
  train_steps(state, model, {kVocab, kBatch, kContext});
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
  train_steps(state, model, {kVocab, kBatch, kContext});
}

// The GPU rows: GPT-2 small (configs/gpt2_124m.toml) and the Llama of its size
// (configs/llama_124m.toml: RoPE, RMSNorm, SwiGLU 2048 wide, the same 124M parameters), bf16
// weights with f32 AdamW masters, batch 8 x 1024, as `kiln train` runs them. The target
// is llama >= 0.9x gpt2 in tokens_per_s. Skipped without a CUDA device.
constexpr StepShape kGpuShape{50304, 8, 1024};

void on_gpu(benchmark::State& state, kiln::models::CausalLM& model) {
  model.to(kiln::Device::cuda(0));
  model.to(kiln::DType::bf16);
  train_steps(state, model, kGpuShape);
}

void gpu_gpt2_124m_train_step(benchmark::State& state) {
  if (!kiln::cuda_available()) return state.SkipWithError("no CUDA device");
  kiln::models::GPTConfig config;  // GPT-2 small
  config.vocab_size = kGpuShape.vocab;
  config.seed = 1;
  kiln::models::GPT model(config);
  on_gpu(state, model);
}

void gpu_llama_124m_train_step(benchmark::State& state) {
  if (!kiln::cuda_available()) return state.SkipWithError("no CUDA device");
  kiln::models::LlamaConfig config;
  config.vocab_size = kGpuShape.vocab;
  config.block_size = 1024;
  config.n_layer = 12;
  config.n_head = 12;
  config.n_kv_head = 12;
  config.n_embd = 768;
  config.intermediate_size = 2048;
  config.rms_norm_eps = 1e-5;
  config.tie_word_embeddings = true;
  config.seed = 1;
  kiln::models::Llama model(config);
  on_gpu(state, model);
}

}  // namespace

BENCHMARK(gpt_train_step)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(llama_train_step)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(gpu_gpt2_124m_train_step)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(gpu_llama_124m_train_step)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
