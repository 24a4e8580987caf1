// CPU ops against measured ceilings. softmax and layer_norm are memory-bound, so they are
// compared with a parallel memcpy of the same buffer (counter frac_of_copy, target >= 0.5);
// matmul through the op is compared with calling cblas_sgemm directly (counter vs_sgemm,
// target >= 0.9). Bytes count what a kernel must read plus write; times are wall-clock
// because the ops run on several threads. See docs/benchmarks.md.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/ops.h"

namespace {

constexpr int64_t kRows = 4096;
constexpr int64_t kCols = 4096;
constexpr double kMatrixBytes = kRows * kCols * sizeof(float);
constexpr int64_t kGemmSize = 1024;  // M = N = K
constexpr double kGemmFlops = 2.0 * kGemmSize * kGemmSize * kGemmSize;

// Two buffers of a 4096x4096 f32 matrix's size and a memcpy between them in 1 MiB chunks spread
// over the OpenMP threads: the bandwidth a parallel kernel that reads and writes each byte once
// can hope for.
struct CopyBuffers {
  std::vector<char> src = std::vector<char>(static_cast<size_t>(kMatrixBytes), 1);
  std::vector<char> dst = std::vector<char>(static_cast<size_t>(kMatrixBytes), 0);

  void copy() {
    constexpr int64_t kChunk = 1 << 20;
    const auto bytes = static_cast<int64_t>(src.size());
    const int64_t chunks = (bytes + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t begin = c * kChunk;
      std::memcpy(dst.data() + begin, src.data() + begin,
                  static_cast<size_t>(std::min(kChunk, bytes - begin)));
    }
  }
};

void sgemm(const kiln::Tensor& a, const kiln::Tensor& b, const kiln::Tensor& c) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kGemmSize, kGemmSize, kGemmSize, 1.0f,
              a.data<float>(), kGemmSize, b.data<float>(), kGemmSize, 0.0f, c.data<float>(),
              kGemmSize);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

struct Timings {
  double op = 0;         // seconds in the op, summed over the iterations
  double reference = 0;  // seconds in the reference
};

// Times `op` (which returns a new tensor) as the benchmark's loop and, after each call and
// outside the timed region, its `reference`: the same work done at the ceiling. Interleaving
// makes both see the same machine load; a ceiling measured once drifts by tens of percent on a
// shared machine.
template <typename Op, typename Reference>
Timings time_against(benchmark::State& state, Op&& op, Reference&& reference) {
  Timings timings;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    {
      const kiln::Tensor y = op();
      benchmark::DoNotOptimize(y.raw_data());
    }
    timings.op += seconds_since(start);
    state.PauseTiming();
    start = std::chrono::steady_clock::now();
    reference();
    timings.reference += seconds_since(start);
    state.ResumeTiming();
  }
  return timings;
}

void BM_copy(benchmark::State& state) {
  CopyBuffers buffers;
  for (auto _ : state) {
    buffers.copy();
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * 2 * kMatrixBytes));
}

// A memory-bound op that must move `bytes_per_call`: bytes/s, and that as a fraction of the
// copy's bytes/s.
template <typename Op>
void run_memory_bound(benchmark::State& state, double bytes_per_call, Op&& op) {
  kiln::NoGradGuard no_grad;
  CopyBuffers buffers;
  const Timings t = time_against(state, op, [&] { buffers.copy(); });
  state.counters["frac_of_copy"] = (bytes_per_call / t.op) / (2 * kMatrixBytes / t.reference);
  state.SetBytesProcessed(
      static_cast<int64_t>(static_cast<double>(state.iterations()) * bytes_per_call));
}

void BM_softmax(benchmark::State& state) {
  const kiln::Tensor x = kiln::randn({kRows, kCols});
  run_memory_bound(state, 2 * kMatrixBytes, [&] { return kiln::softmax(x); });
}

void BM_layer_norm(benchmark::State& state) {
  const kiln::Tensor x = kiln::randn({kRows, kCols});
  const kiln::Tensor weight = kiln::randn({kCols});
  const kiln::Tensor bias = kiln::randn({kCols});
  run_memory_bound(state, 2 * kMatrixBytes + 2 * kCols * sizeof(float),
                   [&] { return kiln::layer_norm(x, weight, bias); });
}

void BM_sgemm(benchmark::State& state) {
  const kiln::Tensor a = kiln::randn({kGemmSize, kGemmSize});
  const kiln::Tensor b = kiln::randn({kGemmSize, kGemmSize});
  const kiln::Tensor c = kiln::empty({kGemmSize, kGemmSize});
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    sgemm(a, b, c);
    benchmark::ClobberMemory();
  }
  state.counters["GFLOPS"] =
      static_cast<double>(state.iterations()) * kGemmFlops / seconds_since(start) / 1e9;
}

void BM_matmul(benchmark::State& state) {
  kiln::NoGradGuard no_grad;
  const kiln::Tensor a = kiln::randn({kGemmSize, kGemmSize});
  const kiln::Tensor b = kiln::randn({kGemmSize, kGemmSize});
  const kiln::Tensor c = kiln::empty({kGemmSize, kGemmSize});
  const Timings t = time_against(
      state, [&] { return kiln::matmul(a, b); }, [&] { sgemm(a, b, c); });
  state.counters["GFLOPS"] = static_cast<double>(state.iterations()) * kGemmFlops / t.op / 1e9;
  state.counters["vs_sgemm"] = t.reference / t.op;
}

BENCHMARK(BM_copy)->Name("copy/4096x4096/f32")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_softmax)
    ->Name("softmax_forward/4096x4096/f32")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_layer_norm)
    ->Name("layer_norm_forward/4096x4096/f32")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_sgemm)->Name("cblas_sgemm/1024/f32")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_matmul)->Name("matmul/1024/f32")->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
