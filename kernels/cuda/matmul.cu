// Matrix products on CUDA through cuBLASLt, plus the two small kernels around them.
//
// Row-major c [m, n] is column-major cᵀ [n, m] with the same leading dimension, so
// c = op(a)·op(b) is issued as cᵀ = op(b)ᵀ·op(a)ᵀ: cuBLASLt's A is our b, its B is our a, and a
// transposed operand is a transpose flag on its stored layout, never a copy. A bias [n] is then
// a vector over the rows of cᵀ, which is exactly cuBLASLt's BIAS epilogue.
//
// Choosing an algorithm (cublasLtMatmulAlgoGetHeuristic) costs more than launching a small
// product, so descriptors and the chosen algorithm are kept per (device, dtype, shape, leading
// dims, batch strides, transposes, epilogue, tf32, pointer alignment) and reused; a training step
// repeats the same few shapes.
//
// sum_rows (a bias gradient) is one block per 32 columns: the 32 threads of a warp read 32
// neighbouring columns of a row (coalesced), the block's 16 warps take every 16th row, and the
// 16 partial sums are added in a fixed order, so the result is deterministic.
// fill_rows (k == 0, where cuBLASLt has nothing to multiply) writes zeros or the bias.
#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>

#include "kernels/cuda/convert.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/matmul.h"

namespace kiln::kernels::cuda {
namespace {

template <typename T>
constexpr cudaDataType_t data_type() {
  if constexpr (std::is_same_v<T, float>) return CUDA_R_32F;
  if constexpr (std::is_same_v<T, bf16>) return CUDA_R_16BF;
  if constexpr (std::is_same_v<T, f16>) return CUDA_R_16F;
}

// The largest power of two (at most 16, cuBLASLt's widest vector access) dividing the address
// of every matrix of a batch: the first one's and the byte stride between them.
template <typename T>
uint32_t alignment_of(const T* ptr, int64_t batch_stride = 0) {
  const auto address = reinterpret_cast<uintptr_t>(ptr);
  const auto stride = static_cast<uintptr_t>(batch_stride) * sizeof(T);
  uint32_t align = 16;
  while (align > 1 && (address % align != 0 || stride % align != 0)) align /= 2;
  return align;
}

struct PlanKey {
  int device;
  cudaDataType_t type;
  bool tf32, bias;
  bool trans_a, trans_b;
  int64_t m, n, k, lda, ldb, batch, stride_a, stride_b;
  uint32_t align_a, align_b, align_c;
  auto operator<=>(const PlanKey&) const = default;
};

// Descriptors and the chosen algorithm for one PlanKey. Destroying descriptors is host-side
// bookkeeping only; a failure there (the library already unloaded at exit) is ignored.
struct Plan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo = {};

  Plan() = default;
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;
  ~Plan() {
    if (c != nullptr) cublasLtMatrixLayoutDestroy(c);
    if (b != nullptr) cublasLtMatrixLayoutDestroy(b);
    if (a != nullptr) cublasLtMatrixLayoutDestroy(a);
    if (op != nullptr) cublasLtMatmulDescDestroy(op);
  }
};

struct PlanCache {
  std::mutex mutex;
  std::map<PlanKey, std::unique_ptr<Plan>> plans;
};

PlanCache& plan_cache() {
  static PlanCache cache;
  return cache;
}

cublasLtMatrixLayout_t make_layout(cudaDataType_t type, uint64_t rows, uint64_t cols, int64_t ld,
                                   int64_t batch, int64_t batch_stride) {
  cublasLtMatrixLayout_t layout = nullptr;
  KILN_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&layout, type, rows, cols, ld));
  if (batch > 1) {
    const auto count = static_cast<int32_t>(batch);
    KILN_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(
        layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof count));
    KILN_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(
        layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &batch_stride, sizeof batch_stride));
  }
  return layout;
}

void set_preference(cublasLtMatmulPreference_t pref, cublasLtMatmulPreferenceAttributes_t attr,
                    uint32_t value) {
  KILN_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, attr, &value, sizeof value));
}

std::string describe(const PlanKey& key) {
  return "m=" + std::to_string(key.m) + " n=" + std::to_string(key.n) +
         " k=" + std::to_string(key.k) + " lda=" + std::to_string(key.lda) +
         " ldb=" + std::to_string(key.ldb) + " batch=" + std::to_string(key.batch) +
         (key.trans_a ? " trans_a" : "") + (key.trans_b ? " trans_b" : "") +
         (key.bias ? " bias" : "");
}

// Builds the descriptors of `key` and asks cuBLASLt's heuristic for its best algorithm.
std::unique_ptr<Plan> make_plan(const BlasContext& ctx, const PlanKey& key, const void* bias) {
  auto plan = std::make_unique<Plan>();
  const cublasComputeType_t compute = key.tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  KILN_CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan->op, compute, CUDA_R_32F));
  // cuBLASLt's A is our b and its B our a (see the top of the file).
  const cublasOperation_t op_a = key.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = key.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  KILN_CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_TRANSA, &op_a, sizeof op_a));
  KILN_CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_TRANSB, &op_b, sizeof op_b));
  if (key.bias) {
    const cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
    KILN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_EPILOGUE,
                                                            &epilogue, sizeof epilogue));
    KILN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(
        plan->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias));
  }
  // Stored (column-major) shapes: our b is [k, n] row-major = [n, k] column-major, or [k, n]
  // when used transposed; likewise a; c is [n, m] column-major.
  const uint64_t n = static_cast<uint64_t>(key.n), m = static_cast<uint64_t>(key.m),
                 k = static_cast<uint64_t>(key.k);
  plan->a = key.trans_b ? make_layout(key.type, k, n, key.ldb, key.batch, key.stride_b)
                        : make_layout(key.type, n, k, key.ldb, key.batch, key.stride_b);
  plan->b = key.trans_a ? make_layout(key.type, m, k, key.lda, key.batch, key.stride_a)
                        : make_layout(key.type, k, m, key.lda, key.batch, key.stride_a);
  plan->c = make_layout(key.type, n, m, key.n, key.batch, key.m * key.n);

  cublasLtMatmulPreference_t pref = nullptr;
  KILN_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  const std::unique_ptr<std::remove_pointer_t<cublasLtMatmulPreference_t>,
                        decltype(&cublasLtMatmulPreferenceDestroy)>
      pref_owner(pref, &cublasLtMatmulPreferenceDestroy);
  const uint64_t workspace = ctx.workspace_bytes;
  KILN_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
      pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof workspace));
  set_preference(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, key.align_b);
  set_preference(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, key.align_a);
  set_preference(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, key.align_c);
  set_preference(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, key.align_c);

  cublasLtMatmulHeuristicResult_t result = {};
  int found = 0;
  KILN_CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(
      ctx.handle, plan->op, plan->a, plan->b, plan->c, plan->c, pref, 1, &result, &found));
  if (found == 0)
    throw KernelError("cublas", "cuBLASLt has no algorithm for " + describe(key));
  plan->algo = result.algo;
  return plan;
}

// One (possibly strided-batched) cuBLASLt call: c = op(a)·op(b) (+ bias).
template <typename T>
void run_plan(const BlasContext& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
              const T* a, int64_t lda, int64_t stride_a, const T* b, int64_t ldb, int64_t stride_b,
              int64_t batch, const T* bias, T* c, bool allow_tf32) {
  const bool tf32 = allow_tf32 && std::is_same_v<T, float>;
  const PlanKey key{ctx.device,
                    data_type<T>(),
                    tf32,
                    bias != nullptr,
                    trans_a,
                    trans_b,
                    m,
                    n,
                    k,
                    lda,
                    ldb,
                    batch,
                    stride_a,
                    stride_b,
                    alignment_of(a, stride_a),
                    alignment_of(b, stride_b),
                    alignment_of(c, m * n)};
  PlanCache& cache = plan_cache();
  // Held across the call: the bias pointer is an attribute of the shared descriptor.
  std::lock_guard lock(cache.mutex);
  auto it = cache.plans.find(key);
  if (it == cache.plans.end()) it = cache.plans.emplace(key, make_plan(ctx, key, bias)).first;
  const Plan& plan = *it->second;
  if (bias != nullptr)
    KILN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(
        plan.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias));
  const float alpha = 1.0f, beta = 0.0f;
  KILN_CUBLAS_CHECK(cublasLtMatmul(ctx.handle, plan.op, &alpha, b, plan.a, a, plan.b, &beta,
                                          c, plan.c, c, plan.c, &plan.algo, ctx.workspace,
                                          ctx.workspace_bytes, ctx.stream));
}

template <typename T>
__global__ void fill_rows_kernel(T* c, const T* bias, int64_t n, int64_t total) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    c[i] = bias != nullptr ? bias[i % n] : convert<T>(0.0f);
  }
}

// An empty inner dimension: every product is zero (plus the bias).
template <typename T>
void fill_rows(T* c, const T* bias, int64_t n, int64_t total, cudaStream_t stream) {
  fill_rows_kernel<<<grid_for(total), kBlockSize, 0, stream>>>(c, bias, n, total);
  KILN_CUDA_CHECK(cudaGetLastError());
}

constexpr int kSumColumns = 32;
constexpr int kSumRowLanes = 16;

template <typename T>
__global__ void sum_rows_kernel(const T* g, int64_t rows, int64_t cols, int64_t ld, T* out) {
  __shared__ float partial[kSumRowLanes][kSumColumns + 1];
  const int64_t col = static_cast<int64_t>(blockIdx.x) * kSumColumns + threadIdx.x;
  float acc = 0.0f;
  if (col < cols)
    for (int64_t row = threadIdx.y; row < rows; row += kSumRowLanes)
      acc += to_float(g[row * ld + col]);
  partial[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && col < cols) {
    float total = 0.0f;
    for (int lane = 0; lane < kSumRowLanes; ++lane) total += partial[lane][threadIdx.x];
    out[col] = convert<T>(total);
  }
}

}  // namespace

template <typename T>
void gemm(const BlasContext& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
          const T* a, int64_t lda, const T* b, int64_t ldb, const T* bias, T* c, bool allow_tf32) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    fill_rows(c, bias, n, m * n, ctx.stream);
    return;
  }
  run_plan(ctx, trans_a, trans_b, m, n, k, a, lda, 0, b, ldb, 0, 1, bias, c, allow_tf32);
}

template <typename T>
void gemm_batched(const BlasContext& ctx, int64_t batch, bool trans_a, bool trans_b, int64_t m,
                  int64_t n, int64_t k, const T* a, const StridedLayout& a_batch, int64_t lda,
                  const T* b, const StridedLayout& b_batch, int64_t ldb, T* c, bool allow_tf32) {
  if (batch == 0 || m == 0 || n == 0) return;
  if (k == 0) {
    fill_rows<T>(c, nullptr, n, batch * m * n, ctx.stream);
    return;
  }
  // The innermost batch dim of each layout (all of the batch, stride 0, when every batch dim is
  // broadcast). Both are products of trailing batch dims, so the shorter divides the longer, and
  // within a run of that length both operands advance by their inner stride.
  auto inner = [batch](const StridedLayout& l) {
    return l.ndim == 0 ? std::pair<int64_t, int64_t>{batch, 0}
                       : std::pair<int64_t, int64_t>{l.shape[l.ndim - 1], l.strides[l.ndim - 1]};
  };
  const auto [a_run, a_stride] = inner(a_batch);
  const auto [b_run, b_stride] = inner(b_batch);
  const int64_t run = std::min(a_run, b_run);
  if (run > INT32_MAX)
    throw KernelError("cublas", "batch of " + std::to_string(run) +
                             " exceeds cuBLASLt's 32-bit batch count");
  for (int64_t first = 0; first < batch; first += run) {
    run_plan(ctx, trans_a, trans_b, m, n, k, a + a_batch.offset_of(first), lda, a_stride,
             b + b_batch.offset_of(first), ldb, b_stride, run, static_cast<const T*>(nullptr),
             c + first * m * n, allow_tf32);
  }
}

template <typename T>
void sum_rows(const T* g, int64_t rows, int64_t cols, int64_t ld, T* out, cudaStream_t stream) {
  if (cols == 0) return;
  const auto blocks = static_cast<unsigned>((cols + kSumColumns - 1) / kSumColumns);
  sum_rows_kernel<<<blocks, dim3(kSumColumns, kSumRowLanes), 0, stream>>>(g, rows, cols, ld, out);
  KILN_CUDA_CHECK(cudaGetLastError());
}

#define KILN_CUDA_INSTANTIATE_MATMUL(T)                                                      \
  template void gemm<T>(const BlasContext&, bool, bool, int64_t, int64_t, int64_t, const T*, \
                        int64_t, const T*, int64_t, const T*, T*, bool);                     \
  template void gemm_batched<T>(const BlasContext&, int64_t, bool, bool, int64_t, int64_t,   \
                                int64_t, const T*, const StridedLayout&, int64_t, const T*,  \
                                const StridedLayout&, int64_t, T*, bool);                    \
  template void sum_rows<T>(const T*, int64_t, int64_t, int64_t, T*, cudaStream_t);
KILN_CUDA_INSTANTIATE_MATMUL(float)
KILN_CUDA_INSTANTIATE_MATMUL(bf16)
KILN_CUDA_INSTANTIATE_MATMUL(f16)

}  // namespace kiln::kernels::cuda
