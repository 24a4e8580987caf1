// Attention backward, FlashAttention-2 style. With P = exp(S · scale - lse) recomputed from Q, K
// and the forward's log-sum-exp, delta_i = dO_i · O_i, dP = dO Vᵀ and dS = P ∘ (dP - delta):
//   dV = Pᵀ dO,  dK = scale · dSᵀ Q,  dQ = scale · dS K.
//
// 1. delta pre-pass: one warp per query row.
// 2. dk/dv pass (tensor cores): grid (key tiles, batch · kv_heads); a block of kBlockN / 16 warps
//    owns kBlockN keys of one kv head (16 per warp), keeps K and V in shared memory and dK, dV in
//    registers, and streams kBlockM query rows at a time (Q, dO, lse, delta; two cp.async
//    stages) over every query head of its group, so dK and dV are summed by one block in a fixed
//    order and written once. Each warp computes its rows of Sᵀ = K Qᵀ and dPᵀ = V dOᵀ, so Pᵀ and
//    dSᵀ are already the A operands of dV += Pᵀ dO and dK += dSᵀ Q (straight from registers).
//    Unless deterministic, the same pass adds dS K into an f32 dq accumulator with atomics:
//    dSᵀ goes through shared memory so that every warp can read its share of the rows.
// 3. dq: either (deterministic) its own pass shaped like the forward -- a block owns query rows
//    and streams K, V, recomputing S and dP -- which sums each dq element in a fixed order; or a
//    conversion of the atomic accumulator (dq · scale to the element type).
// f32, other head dims and pre-sm_80 GPUs use FMA kernels with one warp per query row (dq) or
// per key (dk, dv), also in a fixed order.
#include <limits>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/attention_tiles.cuh"
#include "kernels/cuda/convert.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/warp.cuh"

namespace kiln::kernels::cuda {
namespace {

using namespace attention;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kLog2e = 1.4426950408889634f;
constexpr int kRowWarps = 4;  // warps per block of the one-warp-per-row kernels
constexpr int kFmaPerLane = static_cast<int>(kAttentionMaxDim / 32);

// The log-sum-exp in log2 units as P = exp2(S · scale · log2 e - lse2) wants it; a row that saw
// no key (lse -inf) or lies past the end gets +inf, so its P is 0.
__device__ inline float lse_log2(float lse, bool valid) {
  return valid && lse != -kInf ? lse * kLog2e : kInf;
}

// delta[row] = dO[row] · O[row]; grid ceil(rows / kRowWarps).
template <typename T>
__global__ void __launch_bounds__(32 * kRowWarps)
    delta_kernel(const T* __restrict__ dout, const T* __restrict__ out, float* __restrict__ delta,
                 int64_t rows, int dim) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kRowWarps + threadIdx.x / 32;
  const int lane = static_cast<int>(threadIdx.x) % 32;
  if (row >= rows) return;
  float s = 0.f;
  for (int d = lane; d < dim; d += 32)
    s += to_float(dout[row * dim + d]) * to_float(out[row * dim + d]);
  s = warp_sum(s);
  if (lane == 0) delta[row] = s;
}

// dq = acc · scale in the element type.
template <typename T>
__global__ void dq_convert_kernel(const float* __restrict__ acc, T* __restrict__ dq, int64_t n,
                                  float scale) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    dq[i] = convert<T>(acc[i] * scale);
}

// The pieces of dkdv_mma_kernel below, one step of its loop each. A warp owns 16 keys: rows
// warp · 16.. of the K/V tiles; in the mma C layout its thread (g, t) = (lane / 4, lane % 4)
// holds keys key0 = n0 + warp · 16 + g and key0 + 8.

// Sᵀ = K Qᵀ and dPᵀ = V dOᵀ for this warp's 16 keys x the step's BM queries.
template <typename Tile, typename T>
__device__ __forceinline__ void dkdv_scores(float (&st)[Tile::kBlockM / 8][4],
                                            float (&dpt)[Tile::kBlockM / 8][4], const T* sk,
                                            const T* sv, const T* sqt, const T* sdot, int warp) {
  constexpr int D = Tile::kDim, BM = Tile::kBlockM, S = Tile::kStride;
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
    uint32_t ka[4], va[4];
    load_a<S>(ka, sk, warp * 16, kk * 16);
    load_a<S>(va, sv, warp * 16, kk * 16);
#pragma unroll
    for (int np = 0; np < BM / 16; ++np) {
      uint32_t bq[4], bo[4];
      load_b<S>(bq, sqt, np * 16, kk * 16);
      load_b<S>(bo, sdot, np * 16, kk * 16);
      mma<T>(st[2 * np], ka, bq[0], bq[1]);
      mma<T>(st[2 * np + 1], ka, bq[2], bq[3]);
      mma<T>(dpt[2 * np], va, bo[0], bo[1]);
      mma<T>(dpt[2 * np + 1], va, bo[2], bo[3]);
    }
  }
}

// In place: Sᵀ becomes Pᵀ (masked: keys past the end, causal pairs, rows past the end via
// lse = inf) and dPᵀ becomes dSᵀ = Pᵀ ∘ (dPᵀ - delta). `m` is the step's first query row.
template <typename Tile>
__device__ __forceinline__ void dkdv_probabilities(float (&st)[Tile::kBlockM / 8][4],
                                                   float (&dpt)[Tile::kBlockM / 8][4],
                                                   const float* lse_t, const float* delta_t,
                                                   int key0, int m, int t, const Problem& p) {
  constexpr int BM = Tile::kBlockM;
#pragma unroll
  for (int nt = 0; nt < BM / 8; ++nt) {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int col = nt * 8 + 2 * t + (e & 1);  // query within the step
      const int key = key0 + 8 * (e >> 1);
      const bool visible = key < p.tk && (!p.causal || key <= m + col + p.shift);
      const float prob = visible ? exp2f(st[nt][e] * p.scale_log2 - lse_t[col]) : 0.f;
      st[nt][e] = prob;
      dpt[nt][e] = prob * (dpt[nt][e] - delta_t[col]);
    }
  }
}

// dV += Pᵀ dO and dK += dSᵀ Q, Pᵀ and dSᵀ straight from registers as A operands (the scale is
// applied to dK once, when it is stored).
template <typename Tile, typename T>
__device__ __forceinline__ void dkdv_accumulate(float (&dk_acc)[Tile::kDim / 8][4],
                                                float (&dv_acc)[Tile::kDim / 8][4],
                                                const float (&pt)[Tile::kBlockM / 8][4],
                                                const float (&dst)[Tile::kBlockM / 8][4],
                                                const T* sqt, const T* sdot) {
  constexpr int D = Tile::kDim, BM = Tile::kBlockM, S = Tile::kStride;
#pragma unroll
  for (int kk = 0; kk < BM / 16; ++kk) {
    uint32_t pa[4], da[4];
    c_to_a<T>(pa, pt[2 * kk], pt[2 * kk + 1]);
    c_to_a<T>(da, dst[2 * kk], dst[2 * kk + 1]);
#pragma unroll
    for (int dp = 0; dp < D / 16; ++dp) {
      uint32_t bo[4], bq[4];
      load_b_trans<S>(bo, sdot, kk * 16, dp * 16);
      load_b_trans<S>(bq, sqt, kk * 16, dp * 16);
      mma<T>(dv_acc[2 * dp], pa, bo[0], bo[1]);
      mma<T>(dv_acc[2 * dp + 1], pa, bo[2], bo[3]);
      mma<T>(dk_acc[2 * dp], da, bq[0], bq[1]);
      mma<T>(dk_acc[2 * dp + 1], da, bq[2], bq[3]);
    }
  }
}

// dq[rows m.. of head h] += dS K through the f32 accumulator: dSᵀ goes to shared memory, so
// that warp (wm, wn) can take query rows wm · 16.. and head-dim columns wn · kDqCols.. of the
// product. Every thread of the block calls it (it synchronises).
template <typename Tile, typename T>
__device__ __forceinline__ void dq_atomic_add(float* __restrict__ dq_acc, T* sds, const T* sk,
                                              const float (&dst)[Tile::kBlockM / 8][4], int warp,
                                              int g, int t, int m, int64_t h, const Problem& p) {
  constexpr int D = Tile::kDim, BM = Tile::kBlockM, BN = Tile::kBlockN, S = Tile::kStride;
  constexpr int SD = Tile::kStrideDs, kCols = Tile::kDqCols;
#pragma unroll
  for (int nt = 0; nt < BM / 8; ++nt) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      *reinterpret_cast<uint32_t*>(sds + (warp * 16 + g + 8 * r) * SD + nt * 8 + 2 * t) =
          pack2<T>(dst[nt][2 * r], dst[nt][2 * r + 1]);
    }
  }
  __syncthreads();
  const int wm = warp % Tile::kDqWarpsM, wn = warp / Tile::kDqWarpsM;
  float dq_part[kCols / 8][4] = {};
#pragma unroll
  for (int kk = 0; kk < BN / 16; ++kk) {
    uint32_t a[4];
    load_a_trans<SD>(a, sds, wm * 16, kk * 16);
#pragma unroll
    for (int dp = 0; dp < kCols / 16; ++dp) {
      uint32_t bk[4];
      load_b_trans<S>(bk, sk, kk * 16, wn * kCols + dp * 16);
      mma<T>(dq_part[2 * dp], a, bk[0], bk[1]);
      mma<T>(dq_part[2 * dp + 1], a, bk[2], bk[3]);
    }
  }
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = m + wm * 16 + g + 8 * r;
    if (row >= p.tq) continue;
    float* out = dq_acc + (h * p.tq + row) * D + wn * kCols + 2 * t;
#pragma unroll
    for (int dt = 0; dt < kCols / 8; ++dt) {
      atomicAdd(out + dt * 8, dq_part[dt][2 * r]);
      atomicAdd(out + dt * 8 + 1, dq_part[dt][2 * r + 1]);
    }
  }
}

// This thread's rows of dK (times the scale) and dV, once, in the element type.
template <typename Tile, typename T>
__device__ __forceinline__ void store_dkdv(T* __restrict__ dk, T* __restrict__ dv,
                                           const float (&dk_acc)[Tile::kDim / 8][4],
                                           const float (&dv_acc)[Tile::kDim / 8][4], int bkv,
                                           int key0, int t, const Problem& p) {
  constexpr int D = Tile::kDim;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int key = key0 + 8 * r;
    if (key >= p.tk) continue;
    const int64_t offset = (static_cast<int64_t>(bkv) * p.tk + key) * D + 2 * t;
#pragma unroll
    for (int dt = 0; dt < D / 8; ++dt) {
      *reinterpret_cast<uint32_t*>(dk + offset + dt * 8) =
          pack2<T>(dk_acc[dt][2 * r] * p.scale, dk_acc[dt][2 * r + 1] * p.scale);
      *reinterpret_cast<uint32_t*>(dv + offset + dt * 8) =
          pack2<T>(dv_acc[dt][2 * r], dv_acc[dt][2 * r + 1]);
    }
  }
}

template <typename Tile, bool kAtomicDq, typename T>
__global__ void __launch_bounds__(Tile::kThreads)
    dkdv_mma_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                    const T* __restrict__ dout, const float* __restrict__ lse,
                    const float* __restrict__ delta, float* __restrict__ dq_acc, T* __restrict__ dk,
                    T* __restrict__ dv, Problem p) {
  constexpr int D = Tile::kDim, BM = Tile::kBlockM, BN = Tile::kBlockN, S = Tile::kStride;
  constexpr int SD = Tile::kStrideDs, kThreads = Tile::kThreads;
  static_assert(Tile::kSmemBytes <= kMaxSmemBytes, "tile does not fit shared memory");
  extern __shared__ __align__(16) unsigned char smem[];
  T* sk = reinterpret_cast<T*>(smem);
  T* sv = sk + BN * S;
  T* sq = sv + BN * S;                                    // stage s at sq + s * BM * S
  T* sdo = sq + 2 * BM * S;                               // likewise
  T* sds = sdo + 2 * BM * S;                              // dSᵀ [BN][SD]
  float* slse = reinterpret_cast<float*>(sds + BN * SD);  // stage s at slse + s * BM
  float* sdelta = slse + 2 * BM;

  const int n0 = static_cast<int>(blockIdx.x) * BN;
  const int bkv = static_cast<int>(blockIdx.y);  // b · kv_heads + kv head
  const int b = bkv / p.kv_heads, hk = bkv % p.kv_heads;
  const int first_head = b * p.heads + hk * p.group;  // b · heads + h of the group's first head
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const int g = lane / 4, t = lane % 4;
  const int key0 = n0 + warp * 16 + g;  // this thread's keys: key0 and key0 + 8

  // Queries before i_begin see none of these keys; start at the query tile holding it.
  const int i_begin = p.causal ? min(p.tq, max(0, n0 - p.shift)) : 0;
  const int m_first = i_begin / BM * BM;
  const int m_tiles = (p.tq - m_first + BM - 1) / BM;
  const int steps = p.group * m_tiles;

  const int64_t kv_offset = (static_cast<int64_t>(bkv) * p.tk + n0) * D;
  load_tile<BN, D, S, kThreads>(sk, k + kv_offset, p.tk - n0);
  load_tile<BN, D, S, kThreads>(sv, v + kv_offset, p.tk - n0);
  cp_async_commit();

  // Step `it` covers query rows [m, m + BM) of head first_head + it / m_tiles.
  auto load_step = [&](int it, int stage) {
    const int64_t h = first_head + it / m_tiles;
    const int m = m_first + it % m_tiles * BM;
    const int64_t row = h * p.tq + m;
    load_tile<BM, D, S, kThreads>(sq + stage * BM * S, q + row * D, p.tq - m);
    load_tile<BM, D, S, kThreads>(sdo + stage * BM * S, dout + row * D, p.tq - m);
    for (int i = static_cast<int>(threadIdx.x); i < BM; i += kThreads) {
      const bool valid = m + i < p.tq;
      slse[stage * BM + i] = lse_log2(valid ? lse[row + i] : 0.f, valid);
      sdelta[stage * BM + i] = valid ? delta[row + i] : 0.f;
    }
  };
  if (steps > 0) load_step(0, 0);
  cp_async_commit();

  float dk_acc[D / 8][4] = {};
  float dv_acc[D / 8][4] = {};
  for (int it = 0; it < steps; ++it) {
    const int stage = it & 1;
    if (it + 1 < steps) load_step(it + 1, stage ^ 1);
    cp_async_commit();
    cp_async_wait<1>();
    __syncthreads();
    const T* sqt = sq + stage * BM * S;
    const T* sdot = sdo + stage * BM * S;
    const int m = m_first + it % m_tiles * BM;

    float st[BM / 8][4] = {};
    float dpt[BM / 8][4] = {};
    dkdv_scores<Tile>(st, dpt, sk, sv, sqt, sdot, warp);
    dkdv_probabilities<Tile>(st, dpt, slse + stage * BM, sdelta + stage * BM, key0, m, t, p);
    dkdv_accumulate<Tile>(dk_acc, dv_acc, st, dpt, sqt, sdot);
    if constexpr (kAtomicDq)
      dq_atomic_add<Tile>(dq_acc, sds, sk, dpt, warp, g, t, m, first_head + it / m_tiles, p);
    __syncthreads();  // every warp is done with this stage (and dSᵀ) before they are refilled
  }
  // With no visible query (steps == 0) the K/V copies were never waited for: none may be in
  // flight when the block exits.
  cp_async_wait<0>();
  store_dkdv<Tile>(dk, dv, dk_acc, dv_acc, bkv, key0, t, p);
}

// Deterministic dq: grid (query tiles, batch · heads), a warp per 16 query rows as in the
// forward; dO and Q stay in registers, K and V stream through two stages.
template <typename Tile, typename T>
__global__ void __launch_bounds__(Tile::kThreads)
    dq_mma_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                  const T* __restrict__ dout, const float* __restrict__ lse,
                  const float* __restrict__ delta, T* __restrict__ dq, Problem p) {
  constexpr int D = Tile::kDim, BM = Tile::kBlockM, BN = Tile::kBlockN, S = Tile::kStride;
  constexpr int kThreads = Tile::kThreads;
  static_assert(Tile::kDqSmemBytes <= kMaxSmemBytes, "tile does not fit shared memory");
  extern __shared__ __align__(16) unsigned char smem[];
  T* sq = reinterpret_cast<T*>(smem);
  T* sdo = sq + BM * S;
  T* sk = sdo + BM * S;     // stage s at sk + s * BN * S
  T* sv = sk + 2 * BN * S;  // likewise

  const int m0 = static_cast<int>(gridDim.x - 1 - blockIdx.x) * BM;
  const int bh = static_cast<int>(blockIdx.y);
  const int64_t kv = static_cast<int64_t>(bh / p.heads) * p.kv_heads + (bh % p.heads) / p.group;
  const int64_t row_offset = static_cast<int64_t>(bh) * p.tq + m0;
  const T* kg = k + kv * p.tk * D;
  const T* vg = v + kv * p.tk * D;
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const int g = lane / 4, t = lane % 4;
  const int row0 = m0 + warp * 16 + g;

  const int key_end = min(p.tk, visible_keys(p, min(m0 + BM, p.tq) - 1));
  const int tiles = (key_end + BN - 1) / BN;

  load_tile<BM, D, S, kThreads>(sq, q + row_offset * D, p.tq - m0);
  load_tile<BM, D, S, kThreads>(sdo, dout + row_offset * D, p.tq - m0);
  cp_async_commit();
  if (tiles > 0) {
    load_tile<BN, D, S, kThreads>(sk, kg, p.tk);
    load_tile<BN, D, S, kThreads>(sv, vg, p.tk);
  }
  cp_async_commit();

  float lse2[2], row_delta[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = row0 + 8 * r;
    const bool valid = row < p.tq;
    lse2[r] = lse_log2(valid ? lse[static_cast<int64_t>(bh) * p.tq + row] : 0.f, valid);
    row_delta[r] = valid ? delta[static_cast<int64_t>(bh) * p.tq + row] : 0.f;
  }

  uint32_t qf[D / 16][4], dof[D / 16][4];
  cp_async_wait<1>();
  __syncthreads();
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
    load_a<S>(qf[kk], sq, warp * 16, kk * 16);
    load_a<S>(dof[kk], sdo, warp * 16, kk * 16);
  }

  float acc[D / 8][4] = {};
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

    // S = Q Kᵀ and dP = dO Vᵀ: 16 rows x BN keys per warp.
    float sc[BN / 8][4] = {};
    float dp[BN / 8][4] = {};
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
#pragma unroll
      for (int np = 0; np < BN / 16; ++np) {
        uint32_t bk[4], bv[4];
        load_b<S>(bk, skt, np * 16, kk * 16);
        load_b<S>(bv, svt, np * 16, kk * 16);
        mma<T>(sc[2 * np], qf[kk], bk[0], bk[1]);
        mma<T>(sc[2 * np + 1], qf[kk], bk[2], bk[3]);
        mma<T>(dp[2 * np], dof[kk], bv[0], bv[1]);
        mma<T>(dp[2 * np + 1], dof[kk], bv[2], bv[3]);
      }
    }

    // dS = P ∘ (dP - delta) with P recomputed from the log-sum-exp.
#pragma unroll
    for (int nt = 0; nt < BN / 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int r = e >> 1;
        const int col = n0 + nt * 8 + 2 * t + (e & 1);
        const bool visible = col < visible_keys(p, row0 + 8 * r);
        const float prob = visible ? exp2f(sc[nt][e] * p.scale_log2 - lse2[r]) : 0.f;
        sc[nt][e] = prob * (dp[nt][e] - row_delta[r]);
      }
    }

    // dq += dS K.
#pragma unroll
    for (int kk = 0; kk < BN / 16; ++kk) {
      uint32_t a[4];
      c_to_a<T>(a, sc[2 * kk], sc[2 * kk + 1]);
#pragma unroll
      for (int dt = 0; dt < D / 16; ++dt) {
        uint32_t bk[4];
        load_b_trans<S>(bk, skt, kk * 16, dt * 16);
        mma<T>(acc[2 * dt], a, bk[0], bk[1]);
        mma<T>(acc[2 * dt + 1], a, bk[2], bk[3]);
      }
    }
    __syncthreads();
  }

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = row0 + 8 * r;
    if (row >= p.tq) continue;
    T* dst = dq + (static_cast<int64_t>(bh) * p.tq + row) * D + 2 * t;
#pragma unroll
    for (int dt = 0; dt < D / 8; ++dt) {
      *reinterpret_cast<uint32_t*>(dst + dt * 8) =
          pack2<T>(acc[dt][2 * r] * p.scale, acc[dt][2 * r + 1] * p.scale);
    }
  }
}

// dq by FMA: grid (ceil(tq / kRowWarps), batch · heads), one warp per query row, lane j taking
// key j0 + j of each 32-key step.
template <typename T>
__global__ void __launch_bounds__(32 * kRowWarps)
    dq_fma_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                  const T* __restrict__ dout, const float* __restrict__ lse,
                  const float* __restrict__ delta, T* __restrict__ dq, Problem p) {
  __shared__ float sq[kRowWarps][kAttentionMaxDim];
  __shared__ float sdo[kRowWarps][kAttentionMaxDim];
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const int row = static_cast<int>(blockIdx.x) * kRowWarps + warp;
  const int bh = static_cast<int>(blockIdx.y);
  if (row >= p.tq) return;
  const int D = p.dim;
  const int64_t r = static_cast<int64_t>(bh) * p.tq + row;
  const int64_t kv = static_cast<int64_t>(bh / p.heads) * p.kv_heads + (bh % p.heads) / p.group;
  const T* kg = k + kv * p.tk * D;
  const T* vg = v + kv * p.tk * D;
  for (int d = lane; d < D; d += 32) {
    sq[warp][d] = to_float(q[r * D + d]);
    sdo[warp][d] = to_float(dout[r * D + d]);
  }
  __syncwarp();
  const float row_lse = lse[r], row_delta = delta[r];
  const int end = row_lse == -kInf ? 0 : visible_keys(p, row);
  float acc[kFmaPerLane] = {};
  for (int j0 = 0; j0 < end; j0 += 32) {
    const int j = j0 + lane;
    float ds = 0.f;
    if (j < end) {
      const T* kr = kg + static_cast<int64_t>(j) * D;
      const T* vr = vg + static_cast<int64_t>(j) * D;
      float s = 0.f, dp = 0.f;
      for (int d = 0; d < D; ++d) {
        s += sq[warp][d] * to_float(kr[d]);
        dp += sdo[warp][d] * to_float(vr[d]);
      }
      ds = expf(s * p.scale - row_lse) * (dp - row_delta);
    }
    const int n = min(32, end - j0);
    for (int jj = 0; jj < n; ++jj) {
      const float dsj = __shfl_sync(0xffffffffu, ds, jj);
      const T* kr = kg + static_cast<int64_t>(j0 + jj) * D;
#pragma unroll
      for (int c = 0; c < kFmaPerLane; ++c) {
        const int d = lane + 32 * c;
        if (d < D) acc[c] += dsj * to_float(kr[d]);
      }
    }
  }
#pragma unroll
  for (int c = 0; c < kFmaPerLane; ++c) {
    const int d = lane + 32 * c;
    if (d < D) dq[r * D + d] = convert<T>(acc[c] * p.scale);
  }
}

// dk, dv by FMA: grid (ceil(tk / kRowWarps), batch · kv_heads), one warp per key, lane i taking
// query i0 + i of each 32-row step over every query head of the group.
template <typename T>
__global__ void __launch_bounds__(32 * kRowWarps)
    dkdv_fma_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                    const T* __restrict__ dout, const float* __restrict__ lse,
                    const float* __restrict__ delta, T* __restrict__ dk, T* __restrict__ dv,
                    Problem p) {
  __shared__ float sk[kRowWarps][kAttentionMaxDim];
  __shared__ float sv[kRowWarps][kAttentionMaxDim];
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const int key = static_cast<int>(blockIdx.x) * kRowWarps + warp;
  const int bkv = static_cast<int>(blockIdx.y);
  if (key >= p.tk) return;
  const int D = p.dim;
  const int64_t kr = static_cast<int64_t>(bkv) * p.tk + key;
  for (int d = lane; d < D; d += 32) {
    sk[warp][d] = to_float(k[kr * D + d]);
    sv[warp][d] = to_float(v[kr * D + d]);
  }
  __syncwarp();
  const int first_head = bkv / p.kv_heads * p.heads + bkv % p.kv_heads * p.group;
  // Query i sees this key when key <= i + shift.
  const int i_begin = p.causal ? min(p.tq, max(0, key - p.shift)) : 0;
  float dk_acc[kFmaPerLane] = {}, dv_acc[kFmaPerLane] = {};
  for (int hg = 0; hg < p.group; ++hg) {
    const int64_t base = static_cast<int64_t>(first_head + hg) * p.tq;
    for (int i0 = i_begin; i0 < p.tq; i0 += 32) {
      const int i = i0 + lane;
      float prob = 0.f, ds = 0.f;
      if (i < p.tq) {
        const T* qr = q + (base + i) * D;
        const T* dor = dout + (base + i) * D;
        float s = 0.f, dp = 0.f;
        for (int d = 0; d < D; ++d) {
          s += sk[warp][d] * to_float(qr[d]);
          dp += sv[warp][d] * to_float(dor[d]);
        }
        prob = expf(s * p.scale - lse[base + i]);
        ds = prob * (dp - delta[base + i]);
      }
      const int n = min(32, p.tq - i0);
      for (int ii = 0; ii < n; ++ii) {
        const float pi = __shfl_sync(0xffffffffu, prob, ii);
        const float dsi = __shfl_sync(0xffffffffu, ds, ii);
        const T* qr = q + (base + i0 + ii) * D;
        const T* dor = dout + (base + i0 + ii) * D;
#pragma unroll
        for (int c = 0; c < kFmaPerLane; ++c) {
          const int d = lane + 32 * c;
          if (d < D) {
            dv_acc[c] += pi * to_float(dor[d]);
            dk_acc[c] += dsi * to_float(qr[d]);
          }
        }
      }
    }
  }
#pragma unroll
  for (int c = 0; c < kFmaPerLane; ++c) {
    const int d = lane + 32 * c;
    if (d < D) {
      dk[kr * D + d] = convert<T>(dk_acc[c] * p.scale);
      dv[kr * D + d] = convert<T>(dv_acc[c]);
    }
  }
}

template <typename T>
void dq_fill_zero(T* dq, int64_t n, cudaStream_t stream) {
  KILN_CUDA_CHECK(cudaMemsetAsync(dq, 0, static_cast<size_t>(n) * sizeof(T), stream));
}

template <typename KTile, typename QTile, typename T>
void launch_backward_mma(const T* q, const T* k, const T* v, const T* dout, const float* lse,
                         const float* delta, float* dq_acc, T* dq, T* dk, T* dv, const Problem& p,
                         bool deterministic, cudaStream_t stream) {
  const dim3 kv_grid((p.tk + KTile::kBlockN - 1) / KTile::kBlockN, p.batch * p.kv_heads);
  constexpr int kv_smem = KTile::kSmemBytes;
  const int64_t dq_elems = static_cast<int64_t>(p.batch) * p.heads * p.tq * p.dim;
  // Empty grids are launch errors: no keys leaves dk, dv empty (and dq 0), no queries dq empty.
  if (deterministic) {
    if (p.tk == 0) return dq_fill_zero<T>(dq, dq_elems, stream);
    const auto dkdv = dkdv_mma_kernel<KTile, false, T>;
    KILN_CUDA_CHECK(
        cudaFuncSetAttribute(dkdv, cudaFuncAttributeMaxDynamicSharedMemorySize, kv_smem));
    dkdv<<<kv_grid, KTile::kThreads, kv_smem, stream>>>(q, k, v, dout, lse, delta, nullptr, dk, dv,
                                                        p);
    KILN_CUDA_CHECK(cudaGetLastError());
    if (p.tq == 0) return;
    constexpr int q_smem = QTile::kDqSmemBytes;
    const auto dq_kernel = dq_mma_kernel<QTile, T>;
    KILN_CUDA_CHECK(
        cudaFuncSetAttribute(dq_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, q_smem));
    const dim3 q_grid((p.tq + QTile::kBlockM - 1) / QTile::kBlockM, p.batch * p.heads);
    dq_kernel<<<q_grid, QTile::kThreads, q_smem, stream>>>(q, k, v, dout, lse, delta, dq, p);
    KILN_CUDA_CHECK(cudaGetLastError());
    return;
  }
  KILN_CUDA_CHECK(
      cudaMemsetAsync(dq_acc, 0, static_cast<size_t>(dq_elems) * sizeof(float), stream));
  if (p.tk > 0) {
    const auto dkdv = dkdv_mma_kernel<KTile, true, T>;
    KILN_CUDA_CHECK(
        cudaFuncSetAttribute(dkdv, cudaFuncAttributeMaxDynamicSharedMemorySize, kv_smem));
    dkdv<<<kv_grid, KTile::kThreads, kv_smem, stream>>>(q, k, v, dout, lse, delta, dq_acc, dk, dv,
                                                        p);
    KILN_CUDA_CHECK(cudaGetLastError());
  }
  dq_convert_kernel<T>
      <<<grid_for(dq_elems), kBlockSize, 0, stream>>>(dq_acc, dq, dq_elems, p.scale);
  KILN_CUDA_CHECK(cudaGetLastError());
}

constexpr int64_t kWorkspaceAlign = 256;

int64_t delta_bytes(const AttentionDims& d) {
  const int64_t bytes = d.batch * d.heads * d.tq * static_cast<int64_t>(sizeof(float));
  return (bytes + kWorkspaceAlign - 1) / kWorkspaceAlign * kWorkspaceAlign;
}

}  // namespace

template <typename T>
int64_t attention_backward_workspace(const AttentionDims& dims, bool deterministic) {
  int64_t bytes = delta_bytes(dims);
  if (!std::is_same_v<T, float> && !deterministic && attention_uses_tensor_cores(dims.dim, true))
    bytes += dims.batch * dims.heads * dims.tq * dims.dim * static_cast<int64_t>(sizeof(float));
  return bytes;
}

template <typename T>
void attention_backward(const T* q, const T* k, const T* v, const T* out, const float* lse,
                        const T* dout, T* dq, T* dk, T* dv, void* workspace,
                        const AttentionDims& dims, bool deterministic, cudaStream_t stream) {
  check_attention_grid(dims);
  const Problem p = make_problem(dims);
  if (p.batch * p.heads == 0 || p.dim == 0) return;
  auto* delta = static_cast<float*>(workspace);
  const int64_t rows = dims.batch * dims.heads * dims.tq;
  if (rows > 0) {
    const auto blocks = static_cast<unsigned>((rows + kRowWarps - 1) / kRowWarps);
    delta_kernel<T><<<blocks, 32 * kRowWarps, 0, stream>>>(dout, out, delta, rows, p.dim);
    KILN_CUDA_CHECK(cudaGetLastError());
  }
  if constexpr (!std::is_same_v<T, float>) {
    if (attention_uses_tensor_cores(dims.dim, true)) {
      auto* dq_acc = reinterpret_cast<float*>(static_cast<char*>(workspace) + delta_bytes(dims));
      // dk/dv tiles: 64 keys (4 warps); 32 query rows per step at the larger head dims keep
      // Sᵀ, dPᵀ, dK and dV within the register file. dq tiles: 128 rows x 32..64 keys.
      switch (p.dim) {
        case 32:
          return launch_backward_mma<KeyTile<32, 64, 64>, RowTile<32, 128, 64>>(
              q, k, v, dout, lse, delta, dq_acc, dq, dk, dv, p, deterministic, stream);
        case 64:
          return launch_backward_mma<KeyTile<64, 64, 64>, RowTile<64, 128, 64>>(
              q, k, v, dout, lse, delta, dq_acc, dq, dk, dv, p, deterministic, stream);
        case 96:
          return launch_backward_mma<KeyTile<96, 32, 64>, RowTile<96, 128, 32>>(
              q, k, v, dout, lse, delta, dq_acc, dq, dk, dv, p, deterministic, stream);
        default:
          return launch_backward_mma<KeyTile<128, 32, 64>, RowTile<128, 128, 32>>(
              q, k, v, dout, lse, delta, dq_acc, dq, dk, dv, p, deterministic, stream);
      }
    }
  }
  if (p.tq > 0) {
    const dim3 q_grid((p.tq + kRowWarps - 1) / kRowWarps, p.batch * p.heads);
    dq_fma_kernel<T><<<q_grid, 32 * kRowWarps, 0, stream>>>(q, k, v, dout, lse, delta, dq, p);
    KILN_CUDA_CHECK(cudaGetLastError());
  }
  if (p.tk > 0) {
    const dim3 kv_grid((p.tk + kRowWarps - 1) / kRowWarps, p.batch * p.kv_heads);
    dkdv_fma_kernel<T>
        <<<kv_grid, 32 * kRowWarps, 0, stream>>>(q, k, v, dout, lse, delta, dk, dv, p);
    KILN_CUDA_CHECK(cudaGetLastError());
  }
}

#define KILN_INSTANTIATE_ATTENTION_BACKWARD(T)                                                 \
  template int64_t attention_backward_workspace<T>(const AttentionDims&, bool);                \
  template void attention_backward<T>(const T*, const T*, const T*, const T*, const float*,    \
                                      const T*, T*, T*, T*, void*, const AttentionDims&, bool, \
                                      cudaStream_t);
KILN_INSTANTIATE_ATTENTION_BACKWARD(float)
KILN_INSTANTIATE_ATTENTION_BACKWARD(bf16)
KILN_INSTANTIATE_ATTENTION_BACKWARD(f16)

}  // namespace kiln::kernels::cuda
