// GPU ops against ceilings measured in the same run: memory-bound ops (norms, softmax,
// cross-entropy, GELU, embedding, AdamW) as GB/s next to the copy bandwidth (cudaMemcpy D2D and a
// plain copy kernel), matrix products through the op as TFLOP/s next to cuBLASLt called alone on
// the same shapes. Everything goes through kiln's public op API on CUDA tensors, so a row
// measures what a caller pays (checks, output allocation, autograd bookkeeping on fwd+bwd rows).
//
// Timing: CUDA events on kiln's compute stream around one pass over every rotated input set;
// a case's time is the median per-call time over its passes (scripts/gpu-check.sh caps the
// passes with KILN_BENCH_TIME). Inputs are rotated: a case allocates enough copies of its inputs
// that they together exceed three times the L2 cache, and each call takes the next copy, so an
// input is never still in L2 from its previous use (H100's L2 is 50 MB, and a GPT-2-sized
// layer_norm input of 12 MB would otherwise be timed from the cache).
//
// Names are op/shape/dtype/direction; docs/benchmarks.md defines them and the counters
// (GBps, TFLOPps, bytes_per_call, flops_per_call), which scripts/gpu_report.py reads.
#include <benchmark/benchmark.h>
#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bench/kernels/cuda/copy_kernel.h"
#include "kernels/cuda/check.h"
#include "core/cuda/runtime.h"
#include "core/ops.h"
#include "train/adamw.h"

namespace {

using kiln::DType;
using kiln::Shape;
using kiln::Tensor;
using kiln::TensorOptions;

constexpr int kDevice = 0;
const kiln::Device kCuda = kiln::Device::cuda(kDevice);

cudaStream_t stream() {
  return kiln::cuda::stream(kDevice);
}

int64_t l2_bytes() {
  static const int64_t bytes = [] {
    int value = 0;
    KILN_CUDA_CHECK(cudaDeviceGetAttribute(&value, cudaDevAttrL2CacheSize, kDevice));
    return static_cast<int64_t>(value);
  }();
  return bytes;
}

// Seconds of GPU time each case is timed for (after warm-up); KILN_BENCH_TIME overrides.
double target_seconds() {
  const char* value = std::getenv("KILN_BENCH_TIME");
  return value != nullptr ? std::atof(value) : 0.2;
}

std::string shape_name(const Shape& shape) {
  std::string out;
  for (const int64_t d : shape) out += (out.empty() ? "" : "x") + std::to_string(d);
  return out;
}

double element_bytes(DType dtype) {
  return static_cast<double>(kiln::dtype_size(dtype));
}

// Uniform values on the device, never zeros (zeros hide unwritten outputs and can run faster
// than real data).
Tensor random_tensor(const Shape& shape, DType dtype, double low = -1.0, double high = 1.0) {
  static kiln::Generator generator(1234);
  kiln::NoGradGuard no_grad;
  return kiln::rand(shape, TensorOptions{dtype, kCuda}, &generator, low, high);
}

Tensor random_ids(const Shape& shape, int64_t high) {
  return kiln::randint(0, high, shape, TensorOptions{DType::i64, kCuda});
}

Tensor leaf(Tensor t) {
  t.set_requires_grad(true);
  return t;
}

void clear_grads(const std::vector<Tensor>& set) {
  for (const Tensor& t : set)
    if (t.requires_grad()) t.zero_grad();
}

// One benchmark case. `make` returns the first input set; its first `rotated` tensors are
// cloned for the L2 rotation, the rest (weights, small tables) are shared by every copy.
// `call` runs the op once on a set, and for fwd+bwd rows also its backward.
struct Case {
  std::string name;
  double bytes_per_call = 0;
  double flops_per_call = 0;
  size_t rotated = 0;
  std::function<std::vector<Tensor>()> make;
  std::function<void(const std::vector<Tensor>&)> call;
  // Frees state `call` built on its first use (an optimizer, a cuBLASLt plan) once timed.
  std::function<void()> reset = [] {};
};

std::vector<std::vector<Tensor>> rotation_sets(std::vector<Tensor> first, size_t rotated) {
  double set_bytes = 0;
  for (size_t i = 0; i < rotated; ++i)
    set_bytes += static_cast<double>(first[i].numel()) * element_bytes(first[i].dtype());
  const auto copies =
      rotated == 0
          ? int64_t{1}
          : std::clamp<int64_t>(
                static_cast<int64_t>(std::ceil(3.0 * static_cast<double>(l2_bytes()) / set_bytes)),
                2, 256);
  std::vector<std::vector<Tensor>> sets{std::move(first)};
  kiln::NoGradGuard no_grad;
  for (int64_t c = 1; c < copies; ++c) {
    std::vector<Tensor> set = sets.front();
    for (size_t i = 0; i < rotated; ++i) {
      set[i] = sets.front()[i].clone();
      if (sets.front()[i].requires_grad()) set[i].set_requires_grad(true);
    }
    sets.push_back(std::move(set));
  }
  return sets;
}

class EventTimer {
 public:
  EventTimer() {
    KILN_CUDA_CHECK(cudaEventCreate(&start_));
    KILN_CUDA_CHECK(cudaEventCreate(&stop_));
  }
  ~EventTimer() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  EventTimer(const EventTimer&) = delete;
  EventTimer& operator=(const EventTimer&) = delete;

  void start() { KILN_CUDA_CHECK(cudaEventRecord(start_, stream())); }
  double stop_seconds() {
    KILN_CUDA_CHECK(cudaEventRecord(stop_, stream()));
    KILN_CUDA_CHECK(cudaEventSynchronize(stop_));
    float ms = 0;
    KILN_CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
    return ms / 1e3;
  }

 private:
  cudaEvent_t start_ = nullptr;
  cudaEvent_t stop_ = nullptr;
};

// Builds the inputs, warms up (module load, cuBLASLt heuristics, pool growth stay out of the
// numbers), then times passes over the rotated sets until target_seconds() of GPU time (at
// least 3 passes, at most 2000). An op that throws (a kernel not written yet) skips the row
// with its message instead of stopping the run.
void run_case(benchmark::State& state, const Case& c) {
  for (auto _ : state) {
    try {
      const std::vector<std::vector<Tensor>> sets = rotation_sets(c.make(), c.rotated);
      for (const auto& set : sets) c.call(set);
      KILN_CUDA_CHECK(cudaStreamSynchronize(stream()));
      EventTimer timer;
      std::vector<double> per_call;
      double total = 0;
      while (per_call.size() < 2000 && (per_call.size() < 3 || total < target_seconds())) {
        timer.start();
        for (const auto& set : sets) c.call(set);
        const double seconds = timer.stop_seconds();
        total += seconds;
        per_call.push_back(seconds / static_cast<double>(sets.size()));
      }
      std::sort(per_call.begin(), per_call.end());
      const double median = per_call[per_call.size() / 2];
      state.SetIterationTime(median);
      state.counters["bytes_per_call"] = c.bytes_per_call;
      state.counters["flops_per_call"] = c.flops_per_call;
      if (c.bytes_per_call > 0) state.counters["GBps"] = c.bytes_per_call / median / 1e9;
      if (c.flops_per_call > 0) state.counters["TFLOPps"] = c.flops_per_call / median / 1e12;
      state.counters["rotation_copies"] = static_cast<double>(sets.size());
      state.counters["passes"] = static_cast<double>(per_call.size());
      state.counters["min_seconds"] = per_call.front();
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
    }
    c.reset();
  }
}

// ---- the ceilings -------------------------------------------------------------------------

// Bytes: read + written, 2 · bytes of the buffer.
void add_copy_cases(std::vector<Case>& cases) {
  const Shape shape{16384, 4096};
  const double bytes = static_cast<double>(kiln::shape_numel(shape)) * 4;
  auto make = [shape] {
    return std::vector<Tensor>{random_tensor(shape, DType::f32),
                               kiln::empty(shape, TensorOptions{DType::f32, kCuda})};
  };
  cases.push_back({"copy_memcpy/" + shape_name(shape) + "/f32/forward", 2 * bytes, 0, 2, make,
                   [bytes](const std::vector<Tensor>& s) {
                     KILN_CUDA_CHECK(cudaMemcpyAsync(s[1].raw_data(), s[0].raw_data(),
                                                     static_cast<size_t>(bytes),
                                                     cudaMemcpyDeviceToDevice, stream()));
                   }});
  cases.push_back({"copy_kernel/" + shape_name(shape) + "/f32/forward", 2 * bytes, 0, 2, make,
                   [bytes](const std::vector<Tensor>& s) {
                     kiln::bench::cuda::copy_kernel(s[1].raw_data(), s[0].raw_data(),
                                                    static_cast<size_t>(bytes), stream());
                   }});
}

void check_cublas(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS)
    kiln::fail("cublasLt", "{} failed: {}", what, cublasGetStatusString(status));
}

// cuBLASLt alone, the GEMM ceiling: row-major C [M, N] = A [M, K] · B, with B [K, N], or [N, K]
// used transposed (a linear layer's weight). cuBLAS is column-major, so this computes
// Cᵀ = op(B)ᵀ · Aᵀ, whose operands are the row-major buffers as they lie.
class LtGemm {
 public:
  LtGemm(int64_t m, int64_t n, int64_t k, bool transpose_b, DType dtype, bool tf32) {
    const cudaDataType type = dtype == DType::bf16  ? CUDA_R_16BF
                              : dtype == DType::f16 ? CUDA_R_16F
                                                    : CUDA_R_32F;
    const cublasComputeType_t compute = tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    check_cublas(cublasLtCreate(&handle_), "cublasLtCreate");
    check_cublas(cublasLtMatmulDescCreate(&desc_, compute, CUDA_R_32F), "MatmulDescCreate");
    const cublasOperation_t op_b = transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    check_cublas(
        cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_TRANSA, &op_b, sizeof(op_b)),
        "MatmulDescSetAttribute");
    const auto u = [](int64_t v) { return static_cast<uint64_t>(v); };
    check_cublas(transpose_b ? cublasLtMatrixLayoutCreate(&b_, type, u(k), u(n), k)
                             : cublasLtMatrixLayoutCreate(&b_, type, u(n), u(k), n),
                 "MatrixLayoutCreate");
    check_cublas(cublasLtMatrixLayoutCreate(&a_, type, u(k), u(m), k), "MatrixLayoutCreate");
    check_cublas(cublasLtMatrixLayoutCreate(&c_, type, u(n), u(m), n), "MatrixLayoutCreate");
    KILN_CUDA_CHECK(cudaMalloc(&workspace_, kWorkspace));
    cublasLtMatmulPreference_t preference = nullptr;
    check_cublas(cublasLtMatmulPreferenceCreate(&preference), "MatmulPreferenceCreate");
    const size_t workspace = kWorkspace;
    check_cublas(
        cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                             &workspace, sizeof(workspace)),
        "MatmulPreferenceSetAttribute");
    int found = 0;
    const cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(handle_, desc_, b_, a_, c_, c_,
                                                                 preference, 1, &algo_, &found);
    cublasLtMatmulPreferenceDestroy(preference);
    check_cublas(status, "MatmulAlgoGetHeuristic");
    if (found == 0) kiln::fail("cublasLt", "no algorithm for this GEMM");
  }
  ~LtGemm() {
    cudaFree(workspace_);
    cublasLtMatrixLayoutDestroy(a_);
    cublasLtMatrixLayoutDestroy(b_);
    cublasLtMatrixLayoutDestroy(c_);
    cublasLtMatmulDescDestroy(desc_);
    cublasLtDestroy(handle_);
  }
  LtGemm(const LtGemm&) = delete;
  LtGemm& operator=(const LtGemm&) = delete;

  void run(const Tensor& a, const Tensor& b, const Tensor& c) const {
    const float alpha = 1.0f;
    const float beta = 0.0f;
    check_cublas(cublasLtMatmul(handle_, desc_, &alpha, b.raw_data(), b_, a.raw_data(), a_, &beta,
                                c.raw_data(), c_, c.raw_data(), c_, &algo_.algo, workspace_,
                                kWorkspace, stream()),
                 "cublasLtMatmul");
  }

 private:
  static constexpr size_t kWorkspace = 32u << 20;
  cublasLtHandle_t handle_ = nullptr;
  cublasLtMatmulDesc_t desc_ = nullptr;
  cublasLtMatrixLayout_t a_ = nullptr;
  cublasLtMatrixLayout_t b_ = nullptr;
  cublasLtMatrixLayout_t c_ = nullptr;
  cublasLtMatmulHeuristicResult_t algo_{};
  void* workspace_ = nullptr;
};

// ---- matrix products ----------------------------------------------------------------------

struct GemmShape {
  int64_t m, n, k;
  bool linear;  // weight [N, K] through kiln::linear (GPT-2's layers), else kiln::matmul
};

// Flops: 2 · M · N · K per product.
void add_gemm_cases(std::vector<Case>& cases) {
  const int64_t tokens = 8 * 1024;  // GPT-2 small: batch 8 of 1024 positions, 768 wide
  const std::vector<std::pair<GemmShape, DType>> shapes = {
      {{4096, 4096, 4096, false}, DType::bf16}, {{tokens, 2304, 768, true}, DType::bf16},
      {{tokens, 768, 768, true}, DType::bf16},  {{tokens, 3072, 768, true}, DType::bf16},
      {{tokens, 768, 3072, true}, DType::bf16}, {{tokens, 50257, 768, true}, DType::bf16},
      {{4096, 4096, 4096, false}, DType::f32},
  };
  for (const auto& entry : shapes) {
    const GemmShape g = entry.first;
    const DType dtype = entry.second;
    const std::string shape = shape_name({g.m, g.n, g.k});
    const std::string dt(kiln::dtype_name(dtype));
    const double flops =
        2.0 * static_cast<double>(g.m) * static_cast<double>(g.n) * static_cast<double>(g.k);
    const Shape b_shape = g.linear ? Shape{g.n, g.k} : Shape{g.k, g.n};
    auto make = [g, b_shape, dtype] {
      return std::vector<Tensor>{random_tensor({g.m, g.k}, dtype), random_tensor(b_shape, dtype),
                                 kiln::empty({g.m, g.n}, TensorOptions{dtype, kCuda})};
    };
    const bool linear = g.linear;
    cases.push_back({std::string(linear ? "linear/" : "matmul/") + shape + "/" + dt + "/forward", 0,
                     flops, 2, make, [linear](const std::vector<Tensor>& s) {
                       kiln::NoGradGuard no_grad;
                       const Tensor y =
                           linear ? kiln::linear(s[0], s[1]) : kiln::matmul(s[0], s[1]);
                       benchmark::DoNotOptimize(y.raw_data());
                     }});
    for (const bool tf32 :
         dtype == DType::f32 ? std::vector<bool>{false, true} : std::vector<bool>{false}) {
      auto gemm = std::make_shared<std::unique_ptr<LtGemm>>();
      cases.push_back({std::string(tf32 ? "gemm_cublaslt_tf32/" : "gemm_cublaslt/") + shape + "/" +
                           dt + "/forward",
                       0, flops, 3, make,
                       [gemm, g, dtype, tf32](const std::vector<Tensor>& s) {
                         if (!*gemm)
                           *gemm = std::make_unique<LtGemm>(g.m, g.n, g.k, g.linear, dtype, tf32);
                         (*gemm)->run(s[0], s[1], s[2]);
                       },
                       [gemm] { gemm->reset(); }});
    }
  }
}

// ---- memory-bound ops ---------------------------------------------------------------------
// Bytes are the fewest a fused kernel must move: each input read once, each output written once
// (N elements of e bytes, R rows of C). Backward re-reads what the forward saved.

// forward: y = op(x). forward+backward: the same, then dx from dy through autograd.
void add_rowwise(std::vector<Case>& cases, const std::string& op, const Shape& shape, DType dtype,
                 double fwd_bytes, double fwd_bwd_bytes,
                 std::function<std::vector<Tensor>(const Shape&, DType)> params,
                 std::function<Tensor(const std::vector<Tensor>&)> apply) {
  const std::string prefix =
      op + "/" + shape_name(shape) + "/" + std::string(kiln::dtype_name(dtype));
  cases.push_back({prefix + "/forward", fwd_bytes, 0, 1,
                   [=] {
                     std::vector<Tensor> set{random_tensor(shape, dtype)};
                     for (Tensor& p : params(shape, dtype)) set.push_back(p);
                     return set;
                   },
                   [apply](const std::vector<Tensor>& s) {
                     kiln::NoGradGuard no_grad;
                     const Tensor y = apply(s);
                     benchmark::DoNotOptimize(y.raw_data());
                   }});
  // The set is {x, dy, params...}; apply() sees {x, params...}.
  cases.push_back(
      {prefix + "/forward+backward", fwd_bwd_bytes, 0, 2,
       [=] {
         std::vector<Tensor> set{leaf(random_tensor(shape, dtype)), random_tensor(shape, dtype)};
         for (Tensor& p : params(shape, dtype)) set.push_back(leaf(p));
         return set;
       },
       [apply](const std::vector<Tensor>& s) {
         std::vector<Tensor> inputs{s[0]};
         inputs.insert(inputs.end(), s.begin() + 2, s.end());
         apply(inputs).backward(s[1]);
         clear_grads(s);
       }});
}

void add_memory_bound_cases(std::vector<Case>& cases) {
  const auto no_params = [](const Shape&, DType) { return std::vector<Tensor>{}; };
  for (const DType dtype : {DType::f32, DType::bf16}) {
    const double e = element_bytes(dtype);
    for (const Shape& shape : {Shape{16384, 4096}, Shape{8192, 768}}) {
      const double n = static_cast<double>(kiln::shape_numel(shape));
      const double rows = static_cast<double>(shape[0]);
      const double cols = static_cast<double>(shape[1]);
      // layer_norm: forward reads x, weight, bias and writes y; backward reads x, dy, weight and
      // the per-row mean and rstd (f32) and writes dx, dweight, dbias.
      add_rowwise(
          cases, "layer_norm", shape, dtype, 2 * n * e + 2 * cols * e,
          2 * n * e + 2 * cols * e + 8 * rows + 3 * n * e + 3 * cols * e + 8 * rows,
          [](const Shape& s, DType d) {
            return std::vector<Tensor>{random_tensor({s[1]}, d), random_tensor({s[1]}, d)};
          },
          [](const std::vector<Tensor>& in) { return kiln::layer_norm(in[0], in[1], in[2]); });
      // rms_norm: as layer_norm without the bias, one statistic (rstd) per row.
      add_rowwise(
          cases, "rms_norm", shape, dtype, 2 * n * e + cols * e,
          2 * n * e + cols * e + 4 * rows + 3 * n * e + 2 * cols * e + 4 * rows,
          [](const Shape& s, DType d) { return std::vector<Tensor>{random_tensor({s[1]}, d)}; },
          [](const std::vector<Tensor>& in) { return kiln::rms_norm(in[0], in[1]); });
    }
    // rope: a Llama query of GPT-2 small's size, [batch 8, 1024 positions, 12 heads, 64] rotated
    // in its projection layout (time_dim 1). Forward reads x and the f32 cos/sin tables
    // [1024, 32] and writes y; backward (the rotation by -θ) reads dy and the tables, writes dx.
    {
      const Shape shape{8, 1024, 12, 64};
      const double n = static_cast<double>(kiln::shape_numel(shape));
      const double tables = 2.0 * 1024 * 32 * 4;
      add_rowwise(
          cases, "rope", shape, dtype, 2 * n * e + tables, 4 * n * e + 2 * tables,
          [](const Shape&, DType) {
            return std::vector<Tensor>{random_tensor({1024, 32}, DType::f32),
                                       random_tensor({1024, 32}, DType::f32)};
          },
          [](const std::vector<Tensor>& in) { return kiln::rope(in[0], in[1], in[2], 0, 1); });
    }
    // softmax: forward reads x and writes y; backward reads y and dy and writes dx. The second
    // shape is GPT-2 small's attention scores: batch 8 x 12 heads x 1024 queries, 1024 keys.
    for (const Shape& shape : {Shape{16384, 4096}, Shape{8 * 12 * 1024, 1024}}) {
      const double n = static_cast<double>(kiln::shape_numel(shape));
      add_rowwise(cases, "softmax", shape, dtype, 2 * n * e, 5 * n * e, no_params,
                  [](const std::vector<Tensor>& in) { return kiln::softmax(in[0]); });
    }
    // gelu (tanh): forward reads x and writes y; backward reads x and dy and writes dx. The
    // second shape is GPT-2 small's MLP activation (8192 tokens x 3072).
    for (const Shape& shape : {Shape{16384, 4096}, Shape{8192, 3072}}) {
      const double n = static_cast<double>(kiln::shape_numel(shape));
      add_rowwise(cases, "gelu", shape, dtype, 2 * n * e, 5 * n * e, no_params,
                  [](const std::vector<Tensor>& in) { return kiln::gelu(in[0]); });
    }
  }
}

// cross_entropy over GPT-2's vocabulary: logits [8192, 50257], i64 targets. Forward reads the
// logits and targets (the loss is a scalar); backward reads them again and writes dlogits.
void add_cross_entropy_cases(std::vector<Case>& cases) {
  const Shape shape{8192, 50257};
  for (const DType dtype : {DType::f32, DType::bf16}) {
    const double logits = static_cast<double>(kiln::shape_numel(shape)) * element_bytes(dtype);
    const double targets = 8.0 * static_cast<double>(shape[0]);
    const std::string prefix =
        "cross_entropy/" + shape_name(shape) + "/" + std::string(kiln::dtype_name(dtype));
    cases.push_back({prefix + "/forward", logits + targets, 0, 2,
                     [=] {
                       return std::vector<Tensor>{random_tensor(shape, dtype, -4, 4),
                                                  random_ids({shape[0]}, shape[1])};
                     },
                     [](const std::vector<Tensor>& s) {
                       kiln::NoGradGuard no_grad;
                       const Tensor loss = kiln::cross_entropy(s[0], s[1]);
                       benchmark::DoNotOptimize(loss.raw_data());
                     }});
    cases.push_back({prefix + "/forward+backward", 3 * logits + 2 * targets, 0, 2,
                     [=] {
                       return std::vector<Tensor>{leaf(random_tensor(shape, dtype, -4, 4)),
                                                  random_ids({shape[0]}, shape[1])};
                     },
                     [](const std::vector<Tensor>& s) {
                       kiln::cross_entropy(s[0], s[1]).backward();
                       clear_grads(s);
                     }});
  }
}

// embedding: GPT-2's token table [50257, 768] looked up by ids [8, 1024]; shape names the
// output rows x width. Forward reads the ids and the rows they pick and writes them; backward
// reads dy and the ids and writes the whole table's gradient (zeros where no id points).
void add_embedding_cases(std::vector<Case>& cases) {
  const int64_t vocab = 50257;
  const int64_t width = 768;
  const Shape ids_shape{8, 1024};
  const double tokens = static_cast<double>(kiln::shape_numel(ids_shape));
  for (const DType dtype : {DType::f32, DType::bf16}) {
    const double e = element_bytes(dtype);
    const double rows = tokens * static_cast<double>(width) * e;
    const double table = static_cast<double>(vocab * width) * e;
    const std::string prefix =
        "embedding/" + shape_name({8192, width}) + "/" + std::string(kiln::dtype_name(dtype));
    cases.push_back({prefix + "/forward", 8 * tokens + 2 * rows, 0, 2,
                     [=] {
                       return std::vector<Tensor>{random_ids(ids_shape, vocab),
                                                  random_tensor({vocab, width}, dtype)};
                     },
                     [](const std::vector<Tensor>& s) {
                       kiln::NoGradGuard no_grad;
                       const Tensor y = kiln::embedding(s[1], s[0]);
                       benchmark::DoNotOptimize(y.raw_data());
                     }});
    cases.push_back({prefix + "/forward+backward", 16 * tokens + 3 * rows + table, 0, 3,
                     [=] {
                       return std::vector<Tensor>{random_ids(ids_shape, vocab),
                                                  random_tensor({8, 1024, width}, dtype),
                                                  leaf(random_tensor({vocab, width}, dtype))};
                     },
                     [](const std::vector<Tensor>& s) {
                       kiln::embedding(s[2], s[0]).backward(s[1]);
                       clear_grads(s);
                     }});
  }
}

// GPT-2 small's parameters (124,439,808 with the tied classifier), as kiln::models::Gpt names
// them. One AdamW step over all of them, f32: per element it reads the parameter, its gradient
// and both moments and writes the parameter and both moments, 7 · 4 = 28 bytes.
std::vector<std::pair<std::string, Shape>> gpt2_small_parameters() {
  std::vector<std::pair<std::string, Shape>> p{{"wte.weight", {50257, 768}},
                                               {"wpe.weight", {1024, 768}}};
  for (int l = 0; l < 12; ++l) {
    const std::string h = "h." + std::to_string(l) + ".";
    p.insert(p.end(), {{h + "ln_1.weight", {768}},
                       {h + "ln_1.bias", {768}},
                       {h + "attn.c_attn.weight", {2304, 768}},
                       {h + "attn.c_attn.bias", {2304}},
                       {h + "attn.c_proj.weight", {768, 768}},
                       {h + "attn.c_proj.bias", {768}},
                       {h + "ln_2.weight", {768}},
                       {h + "ln_2.bias", {768}},
                       {h + "mlp.c_fc.weight", {3072, 768}},
                       {h + "mlp.c_fc.bias", {3072}},
                       {h + "mlp.c_proj.weight", {768, 3072}},
                       {h + "mlp.c_proj.bias", {768}}});
  }
  p.insert(p.end(), {{"ln_f.weight", {768}}, {"ln_f.bias", {768}}});
  return p;
}

void add_adamw_case(std::vector<Case>& cases) {
  int64_t count = 0;
  for (const auto& [name, shape] : gpt2_small_parameters()) count += kiln::shape_numel(shape);
  // The parameters, gradients and moments (2 GB) dwarf L2, so there is nothing to rotate.
  auto optimizer = std::make_shared<std::unique_ptr<kiln::train::AdamW>>();
  cases.push_back({"adamw/" + std::to_string(count) + "/f32/step",
                   28.0 * static_cast<double>(count), 0, 0, [] { return std::vector<Tensor>{}; },
                   [optimizer](const std::vector<Tensor>&) {
                     if (!*optimizer) {
                       kiln::models::NamedTensors params;
                       for (const auto& [name, shape] : gpt2_small_parameters()) {
                         Tensor p = leaf(random_tensor(shape, DType::f32));
                         p.set_grad(random_tensor(shape, DType::f32, -1e-2, 1e-2));
                         params.emplace_back(name, p);
                       }
                       *optimizer = std::make_unique<kiln::train::AdamW>(std::move(params));
                     }
                     (*optimizer)->step();
                   },
                   [optimizer] { optimizer->reset(); }});
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  add_copy_cases(cases);
  add_gemm_cases(cases);
  add_memory_bound_cases(cases);
  add_cross_entropy_cases(cases);
  add_embedding_cases(cases);
  add_adamw_case(cases);
  return cases;
}

bool listing_only(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg(argv[i]);
    if (arg == "--benchmark_list_tests" || arg == "--benchmark_list_tests=true") return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  // Listing the cases needs no device (scripts and tests read the names).
  const bool list = listing_only(argc, argv);
  if (!list && kiln::cuda_device_count() == 0) {
    std::fprintf(stderr, "kiln_bench_kernels: no CUDA device visible\n");
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (!list) {
    cudaDeviceProp prop{};
    KILN_CUDA_CHECK(cudaGetDeviceProperties(&prop, kDevice));
    benchmark::AddCustomContext("gpu", prop.name);
    benchmark::AddCustomContext("sm_count", std::to_string(prop.multiProcessorCount));
    benchmark::AddCustomContext("l2_bytes", std::to_string(l2_bytes()));
  }
  for (Case& c : all_cases()) {
    const std::string name = c.name;
    benchmark::RegisterBenchmark(
        name.c_str(), [c = std::move(c)](benchmark::State& state) { run_case(state, c); })
        ->UseManualTime()
        ->Iterations(1)
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
