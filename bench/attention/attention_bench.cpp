// kiln_bench_attention: TFLOP/s of the fused attention kernels over the FlashAttention sweep
// (batch · T = 16k tokens, heads = 2048 / head dim, T from 512 to 16k, head dim 64 and 128,
// causal and not, bf16), CUDA-event timed, written as CSV and JSON. FLOPs follow
// FlashAttention's convention: 4·B·H·T²·D for the forward, halved when causal; the backward
// counts 2.5x the forward. bench/baselines/attention_torch.py adds PyTorch's SDPA backends to
// the JSON. With --cpu (or in a CPU-only build) it times the CPU kernel in f32 on a small sweep.
//
//   kiln_bench_attention [--cpu] [--quick] [--deterministic] [--csv FILE] [--json FILE]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/attention.h"
#include "kernels/numeric_types.h"

#ifdef KILN_CUDA
#include <cuda_runtime_api.h>

#include "kernels/cuda/attention.h"
#endif

namespace {

struct Result {
  int64_t batch, heads, t, dim;
  bool causal;
  std::string dtype, direction, device;
  double ms, tflops;
};

double attention_flops(const kiln::kernels::AttentionDims& d, bool backward) {
  double f = 4.0 * static_cast<double>(d.batch * d.heads) * static_cast<double>(d.tq) *
             static_cast<double>(d.tk) * static_cast<double>(d.dim);
  if (d.causal) f /= 2;
  return backward ? 2.5 * f : f;
}

#ifdef KILN_CUDA
void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess)
    throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
}

struct DeviceBuffer {
  void* ptr = nullptr;
  explicit DeviceBuffer(size_t bytes) {
    check(cudaMalloc(&ptr, std::max<size_t>(bytes, 1)), "cudaMalloc");
  }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr);
  }
};

// Mean milliseconds of `fn` over `iters` runs after `warmup` runs, between CUDA events.
template <typename F>
double time_cuda(F&& fn, int warmup, int iters) {
  for (int i = 0; i < warmup; ++i) fn();
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "event");
  check(cudaEventCreate(&stop), "event");
  check(cudaEventRecord(start), "record");
  for (int i = 0; i < iters; ++i) fn();
  check(cudaEventRecord(stop), "record");
  check(cudaEventSynchronize(stop), "sync");
  float ms = 0.f;
  check(cudaEventElapsedTime(&ms, start, stop), "elapsed");
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return ms / iters;
}

void fill_random(kiln::bf16* dst, size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<kiln::bf16> host(n);
  for (auto& x : host) x = kiln::bf16(dist(gen));
  check(cudaMemcpy(dst, host.data(), n * sizeof(kiln::bf16), cudaMemcpyHostToDevice), "copy");
}

std::vector<Result> run_cuda(bool quick, bool deterministic) {
  using kiln::bf16;
  namespace kc = kiln::kernels::cuda;
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, 0), "properties");
  std::vector<Result> results;
  const std::vector<int64_t> lengths =
      quick ? std::vector<int64_t>{512, 2048}
            : std::vector<int64_t>{512, 1024, 2048, 4096, 8192, 16384};
  for (const int64_t dim : {64, 128}) {
    for (const bool causal : {false, true}) {
      for (const int64_t t : lengths) {
        const kiln::kernels::AttentionDims d{
            16384 / t, 2048 / dim, 2048 / dim, t,
            t,         dim,        causal,     1.0 / std::sqrt(static_cast<double>(dim))};
        const size_t n = static_cast<size_t>(d.batch * d.heads * t * dim);
        DeviceBuffer q(n * 2), k(n * 2), v(n * 2), o(n * 2), dout(n * 2), dq(n * 2), dk(n * 2),
            dv(n * 2), lse(static_cast<size_t>(d.batch * d.heads * t) * 4),
            workspace(
                static_cast<size_t>(kc::attention_backward_workspace<bf16>(d, deterministic)));
        fill_random(q.as<bf16>(), n, 1);
        fill_random(k.as<bf16>(), n, 2);
        fill_random(v.as<bf16>(), n, 3);
        fill_random(dout.as<bf16>(), n, 4);
        const int iters = quick ? 3 : 10;
        const double fwd_ms = time_cuda(
            [&] {
              kc::attention_forward<bf16>(q.as<bf16>(), k.as<bf16>(), v.as<bf16>(), o.as<bf16>(),
                                          lse.as<float>(), d, nullptr);
            },
            2, iters);
        const double bwd_ms = time_cuda(
            [&] {
              kc::attention_backward<bf16>(q.as<bf16>(), k.as<bf16>(), v.as<bf16>(), o.as<bf16>(),
                                           lse.as<float>(), dout.as<bf16>(), dq.as<bf16>(),
                                           dk.as<bf16>(), dv.as<bf16>(), workspace.ptr, d,
                                           deterministic, nullptr);
            },
            2, iters);
        check(cudaDeviceSynchronize(), "sync");
        results.push_back({d.batch, d.heads, t, dim, causal, "bf16", "fwd", prop.name, fwd_ms,
                           attention_flops(d, false) / (fwd_ms * 1e9)});
        results.push_back({d.batch, d.heads, t, dim, causal, "bf16", "bwd", prop.name, bwd_ms,
                           attention_flops(d, true) / (bwd_ms * 1e9)});
        std::fprintf(stderr, "d%lld T%lld causal %d: fwd %.1f, bwd %.1f TFLOP/s\n",
                     static_cast<long long>(dim), static_cast<long long>(t), causal,
                     results[results.size() - 2].tflops, results.back().tflops);
      }
    }
  }
  return results;
}
#endif

// The CPU kernel in f32 on 1k-token batches (it is 3-4 orders of magnitude slower).
std::vector<Result> run_cpu(bool quick) {
  std::vector<Result> results;
  const std::vector<int64_t> lengths =
      quick ? std::vector<int64_t>{128} : std::vector<int64_t>{128, 256, 512, 1024};
  for (const int64_t dim : {64}) {
    for (const bool causal : {false, true}) {
      for (const int64_t t : lengths) {
        const kiln::kernels::AttentionDims d{
            std::max<int64_t>(1, 1024 / t), 4, 4, t, t, dim, causal, 0.125};
        const size_t n = static_cast<size_t>(d.batch * d.heads * t * dim);
        std::vector<float> q(n), k(n), v(n), o(n), dout(n), dq(n), dk(n), dv(n),
            lse(static_cast<size_t>(d.batch * d.heads * t));
        std::mt19937 gen(5);
        std::uniform_real_distribution<float> dist(-1.f, 1.f);
        for (auto* buf : {&q, &k, &v, &dout})
          for (auto& x : *buf) x = dist(gen);
        auto time_ms = [](auto&& fn) {
          fn();
          const auto start = std::chrono::steady_clock::now();
          constexpr int kIters = 3;
          for (int i = 0; i < kIters; ++i) fn();
          return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count() /
                 kIters;
        };
        const double fwd_ms = time_ms([&] {
          kiln::kernels::cpu::attention_forward(q.data(), k.data(), v.data(), o.data(), lse.data(),
                                                d);
        });
        const double bwd_ms = time_ms([&] {
          kiln::kernels::cpu::attention_backward(q.data(), k.data(), v.data(), o.data(), lse.data(),
                                                 dout.data(), dq.data(), dk.data(), dv.data(), d);
        });
        results.push_back({d.batch, d.heads, t, dim, causal, "f32", "fwd", "cpu", fwd_ms,
                           attention_flops(d, false) / (fwd_ms * 1e9)});
        results.push_back({d.batch, d.heads, t, dim, causal, "f32", "bwd", "cpu", bwd_ms,
                           attention_flops(d, true) / (bwd_ms * 1e9)});
      }
    }
  }
  return results;
}

void write_csv(const std::vector<Result>& results, const std::string& path) {
  std::ofstream out(path);
  out << "op,batch,heads,t,dim,causal,dtype,direction,device,ms,tflops\n";
  for (const Result& r : results) {
    out << "attention," << r.batch << ',' << r.heads << ',' << r.t << ',' << r.dim << ','
        << (r.causal ? "true" : "false") << ',' << r.dtype << ',' << r.direction << ",\""
        << r.device << "\"," << r.ms << ',' << r.tflops << '\n';
  }
}

// The per-case report format of docs/benchmarks.md; "baselines" is filled by
// bench/baselines/attention_torch.py.
void write_json(const std::vector<Result>& results, const std::string& path) {
  std::ofstream out(path);
  out << "{\"benchmark\": \"attention\", \"cases\": [\n";
  for (size_t i = 0; i < results.size(); ++i) {
    const Result& r = results[i];
    out << "  {\"op\": \"attention\", \"shape\": [" << r.batch << ", " << r.heads << ", " << r.t
        << ", " << r.dim << "], \"dtype\": \"" << r.dtype << "\", \"direction\": \"" << r.direction
        << "\", \"causal\": " << (r.causal ? "true" : "false") << ", \"device\": \"" << r.device
        << "\", \"ms\": " << r.ms << ", \"kiln\": {\"value\": " << r.tflops
        << ", \"unit\": \"TFLOP/s\"}, \"baselines\": {}}"
        << (i + 1 < results.size() ? ",\n" : "\n");
  }
  out << "]}\n";
}

}  // namespace

int main(int argc, char** argv) {
  bool cpu = false, quick = false, deterministic = false;
  std::string csv = "attention.csv", json = "attention.json";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--cpu") {
      cpu = true;
    } else if (arg == "--quick") {
      quick = true;
    } else if (arg == "--deterministic") {
      deterministic = true;
    } else if ((arg == "--csv" || arg == "--json") && i + 1 < argc) {
      (arg == "--csv" ? csv : json) = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: kiln_bench_attention [--cpu] [--quick] [--deterministic] [--csv FILE] "
                   "[--json FILE]\n");
      return 2;
    }
  }
  try {
    std::vector<Result> results;
#ifdef KILN_CUDA
    int devices = 0;
    if (!cpu && cudaGetDeviceCount(&devices) == cudaSuccess && devices > 0)
      results = run_cuda(quick, deterministic);
    else
      results = run_cpu(quick);
#else
    (void)cpu, (void)deterministic;
    results = run_cpu(quick);
#endif
    write_csv(results, csv);
    write_json(results, json);
    std::printf("%-6s %-4s %-4s %-6s %-6s %-5s %10s %10s\n", "dir", "B", "H", "T", "D", "causal",
                "ms", "TFLOP/s");
    for (const Result& r : results) {
      std::printf("%-6s %-4lld %-4lld %-6lld %-6lld %-6s %10.3f %10.3f\n", r.direction.c_str(),
                  static_cast<long long>(r.batch), static_cast<long long>(r.heads),
                  static_cast<long long>(r.t), static_cast<long long>(r.dim),
                  r.causal ? "yes" : "no", r.ms, r.tflops);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kiln_bench_attention: %s\n", e.what());
    return 1;
  }
  return 0;
}
