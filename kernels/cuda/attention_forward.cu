// Attention forward, FlashAttention-2 style: out = softmax(q kᵀ · scale) v without the score
// matrix, plus each query row's log-sum-exp for the backward.
//
// Tensor-core kernel (bf16/f16, head dim 32..128): grid (query tiles, batch · heads), a block of
// kBlockM / 16 warps owns kBlockM query rows of one head, each warp 16 rows. Q is read once into
// registers as mma A fragments; K and V tiles of kBlockN keys stream through two shared-memory
// stages with cp.async, the next tile loading while the current one is used. Per tile a warp
// computes S = Q Kᵀ (16 x kBlockN, f32 in registers), masks it, updates the running row max and
// sum (online softmax), converts P = exp(S - max) to 16 bits in registers and accumulates P V
// into its 16 x D output, which is divided by the row sum once at the end. Causal blocks stop at
// the last key their last row sees, and the grid runs the longest (last) query tiles first.
//
// FMA kernel (f32, other head dims, pre-sm_80): one warp per query row, lane j scoring key
// j0 + j, the output spread over the lanes. Slow; it exists for tests and odd shapes.
#include <limits>
#include <stdexcept>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/attention_tiles.cuh"
#include "kernels/cuda/convert.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/warp.cuh"

namespace kiln::kernels::cuda {
namespace {

using namespace attention;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr float kLn2 = 0.6931471805599453f;

template <typename Tile, typename T>
__global__ void __launch_bounds__(Tile::kThreads)
    forward_mma_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                       T* __restrict__ out, float* __restrict__ lse, Problem p) {
  constexpr int D = Tile::kDim, BM = Tile::kBlockM, BN = Tile::kBlockN, S = Tile::kStride;
  constexpr int kThreads = Tile::kThreads;
  static_assert(Tile::kForwardSmemBytes <= kMaxSmemBytes, "tile does not fit shared memory");
  extern __shared__ __align__(16) unsigned char smem[];
  T* sq = reinterpret_cast<T*>(smem);
  T* sk = sq + BM * S;      // stage s at sk + s * BN * S
  T* sv = sk + 2 * BN * S;  // likewise

  // Longest tiles first: with a causal mask the last query tiles see the most keys.
  const int m0 = static_cast<int>(gridDim.x - 1 - blockIdx.x) * BM;
  const int bh = static_cast<int>(blockIdx.y);  // b · heads + h
  const int64_t kv = static_cast<int64_t>(bh / p.heads) * p.kv_heads + (bh % p.heads) / p.group;
  const T* qg = q + (static_cast<int64_t>(bh) * p.tq + m0) * D;
  const T* kg = k + kv * p.tk * D;
  const T* vg = v + kv * p.tk * D;
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const int g = lane / 4, t = lane % 4;
  const int row0 = m0 + warp * 16 + g;  // this thread's rows: row0 and row0 + 8

  const int key_end = min(p.tk, visible_keys(p, min(m0 + BM, p.tq) - 1));
  const int tiles = (key_end + BN - 1) / BN;

  load_tile<BM, D, S, kThreads>(sq, qg, p.tq - m0);
  cp_async_commit();
  if (tiles > 0) {
    load_tile<BN, D, S, kThreads>(sk, kg, p.tk);
    load_tile<BN, D, S, kThreads>(sv, vg, p.tk);
  }
  cp_async_commit();

  float o[D / 8][4] = {};
  float row_max[2] = {kNegInf, kNegInf};  // in units of scores · scale · log2(e)
  float row_sum[2] = {0.f, 0.f};  // this thread's columns only; summed over the quad at the end
  uint32_t qf[D / 16][4];
  cp_async_wait<1>();
  __syncthreads();
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) load_a<S>(qf[kk], sq, warp * 16, kk * 16);

  for (int it = 0; it < tiles; ++it) {
    const int n0 = it * BN;
    if (it + 1 < tiles) {
      const int stage = (it + 1) & 1;
      load_tile<BN, D, S, kThreads>(sk + stage * BN * S, kg + static_cast<int64_t>(n0 + BN) * D,
                                    p.tk - n0 - BN);
      load_tile<BN, D, S, kThreads>(sv + stage * BN * S, vg + static_cast<int64_t>(n0 + BN) * D,
                                    p.tk - n0 - BN);
    }
    cp_async_commit();
    cp_async_wait<1>();
    __syncthreads();
    const T* skt = sk + (it & 1) * BN * S;
    const T* svt = sv + (it & 1) * BN * S;

    // S = Q Kᵀ: 16 rows x BN keys per warp.
    float sc[BN / 8][4] = {};
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
#pragma unroll
      for (int np = 0; np < BN / 16; ++np) {
        uint32_t b[4];
        load_b<S>(b, skt, np * 16, kk * 16);
        mma<T>(sc[2 * np], qf[kk], b[0], b[1]);
        mma<T>(sc[2 * np + 1], qf[kk], b[2], b[3]);
      }
    }

    // Scale into log2 units and mask keys past the end or (causal) past each row's limit.
    const bool needs_mask = n0 + BN > p.tk || (p.causal && n0 + BN - 1 > m0 + warp * 16 + p.shift);
#pragma unroll
    for (int nt = 0; nt < BN / 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        sc[nt][e] *= p.scale_log2;
        if (needs_mask) {
          const int col = n0 + nt * 8 + 2 * t + (e & 1);
          if (col >= visible_keys(p, row0 + 8 * (e >> 1))) sc[nt][e] = kNegInf;
        }
      }
    }

    // Online softmax: grow the running max, rescale what was summed under the old one.
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float tile_max = kNegInf;
#pragma unroll
      for (int nt = 0; nt < BN / 8; ++nt)
        tile_max = fmaxf(tile_max, fmaxf(sc[nt][2 * r], sc[nt][2 * r + 1]));
      const float new_max = fmaxf(row_max[r], quad_max(tile_max));
      // A row with every key so far masked keeps max -inf; subtracting 0 keeps exp2 at 0.
      const float base = new_max == kNegInf ? 0.f : new_max;
      const float alpha = exp2f(row_max[r] - base);
      float sum = 0.f;
#pragma unroll
      for (int nt = 0; nt < BN / 8; ++nt) {
        sc[nt][2 * r] = exp2f(sc[nt][2 * r] - base);
        sc[nt][2 * r + 1] = exp2f(sc[nt][2 * r + 1] - base);
        sum += sc[nt][2 * r] + sc[nt][2 * r + 1];
      }
      row_sum[r] = row_sum[r] * alpha + sum;
      row_max[r] = new_max;
#pragma unroll
      for (int dt = 0; dt < D / 8; ++dt) {
        o[dt][2 * r] *= alpha;
        o[dt][2 * r + 1] *= alpha;
      }
    }

    // O += P V, P straight from the score registers.
#pragma unroll
    for (int kk = 0; kk < BN / 16; ++kk) {
      uint32_t a[4];
      c_to_a<T>(a, sc[2 * kk], sc[2 * kk + 1]);
#pragma unroll
      for (int dp = 0; dp < D / 16; ++dp) {
        uint32_t b[4];
        load_b_trans<S>(b, svt, kk * 16, dp * 16);
        mma<T>(o[2 * dp], a, b[0], b[1]);
        mma<T>(o[2 * dp + 1], a, b[2], b[3]);
      }
    }
    __syncthreads();  // every warp is done with this stage before it is refilled
  }

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = row0 + 8 * r;
    const float sum = quad_sum(row_sum[r]);
    if (row >= p.tq) continue;
    const float inv = sum > 0.f ? 1.f / sum : 0.f;
    T* orow = out + (static_cast<int64_t>(bh) * p.tq + row) * D;
#pragma unroll
    for (int dt = 0; dt < D / 8; ++dt) {
      *reinterpret_cast<uint32_t*>(orow + dt * 8 + 2 * t) =
          pack2<T>(o[dt][2 * r] * inv, o[dt][2 * r + 1] * inv);
    }
    if (t == 0) {
      lse[static_cast<int64_t>(bh) * p.tq + row] =
          sum > 0.f ? (row_max[r] + log2f(sum)) * kLn2 : kNegInf;
    }
  }
}

constexpr int kFmaWarps = 4;
constexpr int kFmaPerLane = static_cast<int>(kAttentionMaxDim / 32);

// grid (ceil(tq / kFmaWarps), batch · heads); warp w of a block owns one query row.
template <typename T>
__global__ void __launch_bounds__(32 * kFmaWarps)
    forward_fma_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                       T* __restrict__ out, float* __restrict__ lse, Problem p) {
  __shared__ float sq[kFmaWarps][kAttentionMaxDim];
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const int row = static_cast<int>(blockIdx.x) * kFmaWarps + warp;
  const int bh = static_cast<int>(blockIdx.y);
  if (row >= p.tq) return;
  const int D = p.dim;
  const int64_t kv = static_cast<int64_t>(bh / p.heads) * p.kv_heads + (bh % p.heads) / p.group;
  const T* qr = q + (static_cast<int64_t>(bh) * p.tq + row) * D;
  const T* kg = k + kv * p.tk * D;
  const T* vg = v + kv * p.tk * D;
  for (int d = lane; d < D; d += 32) sq[warp][d] = to_float(qr[d]);
  __syncwarp();

  const int end = visible_keys(p, row);
  float acc[kFmaPerLane] = {};
  float m = kNegInf, l = 0.f;
  for (int j0 = 0; j0 < end; j0 += 32) {
    const int j = j0 + lane;
    float s = kNegInf;
    if (j < end) {
      const T* kr = kg + static_cast<int64_t>(j) * D;
      float dot = 0.f;
      for (int d = 0; d < D; ++d) dot += sq[warp][d] * to_float(kr[d]);
      s = dot * p.scale;
    }
    const float new_m = fmaxf(m, warp_max(s));  // finite: key j0 is visible
    const float alpha = expf(m - new_m);
    const float e = j < end ? expf(s - new_m) : 0.f;
    l = l * alpha + warp_sum(e);
    m = new_m;
#pragma unroll
    for (int c = 0; c < kFmaPerLane; ++c) acc[c] *= alpha;
    const int n = min(32, end - j0);
    for (int jj = 0; jj < n; ++jj) {
      const float pj = __shfl_sync(0xffffffffu, e, jj);
      const T* vr = vg + static_cast<int64_t>(j0 + jj) * D;
#pragma unroll
      for (int c = 0; c < kFmaPerLane; ++c) {
        const int d = lane + 32 * c;
        if (d < D) acc[c] += pj * to_float(vr[d]);
      }
    }
  }
  T* orow = out + (static_cast<int64_t>(bh) * p.tq + row) * D;
  const float inv = l > 0.f ? 1.f / l : 0.f;
#pragma unroll
  for (int c = 0; c < kFmaPerLane; ++c) {
    const int d = lane + 32 * c;
    if (d < D) orow[d] = convert<T>(acc[c] * inv);
  }
  if (lane == 0) lse[static_cast<int64_t>(bh) * p.tq + row] = l > 0.f ? m + logf(l) : kNegInf;
}

template <typename Tile, typename T>
void launch_forward_mma(const T* q, const T* k, const T* v, T* out, float* lse, const Problem& p,
                        cudaStream_t stream) {
  constexpr int smem = Tile::kForwardSmemBytes;
  const auto kernel = forward_mma_kernel<Tile, T>;
  KILN_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  const dim3 grid((p.tq + Tile::kBlockM - 1) / Tile::kBlockM, p.batch * p.heads);
  kernel<<<grid, Tile::kThreads, smem, stream>>>(q, k, v, out, lse, p);
  KILN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

namespace attention {

bool attention_uses_tensor_cores(int64_t dim, bool is_16bit) {
  if (!is_16bit || (dim != 32 && dim != 64 && dim != 96 && dim != 128)) return false;
  int device = 0, major = 0, smem = 0;
  KILN_CUDA_CHECK(cudaGetDevice(&device));
  KILN_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  KILN_CUDA_CHECK(
      cudaDeviceGetAttribute(&smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  return major >= 8 && smem >= kMaxSmemBytes;
}

void check_attention_grid(const AttentionDims& d) {
  if (d.batch * d.heads > 65535 || d.dim > kAttentionMaxDim || d.tq > (1 << 30) || d.tk > (1 << 30))
    throw KernelError(
        "cuda", "sizes out of the CUDA kernels' range (batch · heads <= "
        "65535, head dim <= 256, sequence < 2^30)");
}

}  // namespace attention

template <typename T>
void attention_forward(const T* q, const T* k, const T* v, T* out, float* lse,
                       const AttentionDims& dims, cudaStream_t stream) {
  check_attention_grid(dims);
  const Problem p = make_problem(dims);
  if (p.tq == 0 || p.batch * p.heads == 0) return;
  if constexpr (!std::is_same_v<T, float>) {
    if (attention_uses_tensor_cores(dims.dim, true)) {
      switch (p.dim) {
        case 32:
          return launch_forward_mma<RowTile<32, 128, 128>>(q, k, v, out, lse, p, stream);
        case 64:
          return launch_forward_mma<RowTile<64, 128, 64>>(q, k, v, out, lse, p, stream);
        case 96:
          return launch_forward_mma<RowTile<96, 128, 64>>(q, k, v, out, lse, p, stream);
        default:
          return launch_forward_mma<RowTile<128, 128, 64>>(q, k, v, out, lse, p, stream);
      }
    }
  }
  const dim3 grid((p.tq + kFmaWarps - 1) / kFmaWarps, p.batch * p.heads);
  forward_fma_kernel<T><<<grid, 32 * kFmaWarps, 0, stream>>>(q, k, v, out, lse, p);
  KILN_CUDA_CHECK(cudaGetLastError());
}

template void attention_forward<float>(const float*, const float*, const float*, float*, float*,
                                       const AttentionDims&, cudaStream_t);
template void attention_forward<bf16>(const bf16*, const bf16*, const bf16*, bf16*, float*,
                                      const AttentionDims&, cudaStream_t);
template void attention_forward<f16>(const f16*, const f16*, const f16*, f16*, float*,
                                     const AttentionDims&, cudaStream_t);

}  // namespace kiln::kernels::cuda
