#pragma once
// Building blocks of the tensor-core attention kernels (attention_forward.cu,
// attention_backward.cu): mma.sync m16n8k16 with f32 accumulators, ldmatrix fragment loads from
// shared-memory tiles, cp.async tile copies, and the tile shapes as compile-time structs.
//
// Fragment layouts of mma.m16n8k16 (PTX ISA), for lane = 4·g + t (g = lane / 4, t = lane % 4):
//   A 16x16 (4 regs of two 16-bit values): a0 (row g, cols 2t, 2t+1), a1 (row g+8, same cols),
//     a2 (row g, cols 2t+8, 2t+9), a3 (row g+8, cols 2t+8, 2t+9)
//   B 16x8 (2 regs): b0 (rows 2t, 2t+1, col g), b1 (rows 2t+8, 2t+9, col g)
//   C 16x8 f32 (4 floats): c0, c1 (row g, cols 2t, 2t+1), c2, c3 (row g+8, cols 2t, 2t+1)
// Two neighbouring C tiles (cols 0..7 and 8..15) hold exactly what an A fragment of the same 16
// rows needs, so a product's result feeds the next product from registers (c_to_a), e.g.
// P = softmax(S) into P·V without a round trip through shared memory.
//
// Shared-memory tiles are row-major with rows padded by 8 elements (16 bytes): the 8 rows one
// ldmatrix reads then start in 8 different 16-byte bank groups, so the reads do not conflict.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/attention.h"
#include "kernels/numeric_types.h"

namespace kiln::kernels::cuda::attention {

// The sizes as the kernels index them. Offsets are formed in 64 bits; a single head's rows and
// the counts here fit in int (the launchers check).
struct Problem {
  int batch, heads, kv_heads, group, tq, tk, dim;
  int shift;  // tk - tq: with `causal`, query i sees keys j <= i + shift
  bool causal;
  float scale;
  float scale_log2;  // scale · log2(e): the kernels exponentiate with exp2
};

inline Problem make_problem(const AttentionDims& d) {
  Problem p{};
  p.batch = static_cast<int>(d.batch);
  p.heads = static_cast<int>(d.heads);
  p.kv_heads = static_cast<int>(d.kv_heads);
  p.group = static_cast<int>(d.heads / d.kv_heads);
  p.tq = static_cast<int>(d.tq);
  p.tk = static_cast<int>(d.tk);
  p.dim = static_cast<int>(d.dim);
  p.shift = static_cast<int>(d.tk - d.tq);
  p.causal = d.causal;
  p.scale = static_cast<float>(d.scale);
  p.scale_log2 = static_cast<float>(d.scale * 1.4426950408889634);
  return p;
}

// Whether bf16/f16 attention with this head dim runs on the tensor cores of the current device
// (sm_80+); otherwise the FMA kernels run.
bool attention_uses_tensor_cores(int64_t dim, bool is_16bit);
// Throws when the sizes exceed what the kernels index (grid limits, int row counts).
void check_attention_grid(const AttentionDims& d);

// How many keys query i sees: a prefix [0, visible_keys).
__device__ inline int visible_keys(const Problem& p, int i) {
  return p.causal ? min(p.tk, max(0, i + p.shift + 1)) : p.tk;
}

constexpr int kSmemPad = 8;  // elements of padding per shared-memory row
// The most shared memory any tile below takes (the 128-row tiles at head dim 128). The host runs
// the tensor-core path only on GPUs that give a block this much: sm_80 and sm_90 do (163 and
// 227 KB), sm_86/sm_89 (99 KB) run the FMA kernels.
constexpr int kMaxSmemBytes = 102 * 1024;

// Two floats as one register of two 16-bit values, `lo` in the low half (the lower column).
template <typename T>
__device__ inline uint32_t pack2(float lo, float hi) {
  uint32_t bits;
  if constexpr (std::is_same_v<T, bf16>) {
    const __nv_bfloat162 p = __floats2bfloat162_rn(lo, hi);
    bits = *reinterpret_cast<const uint32_t*>(&p);
  } else {
    static_assert(std::is_same_v<T, f16>, "tensor-core attention takes bf16 or f16");
    const __half2 p = __floats2half2_rn(lo, hi);
    bits = *reinterpret_cast<const uint32_t*>(&p);
  }
  return bits;
}

// d += a · b for one 16x16 A fragment and one 16x8 B fragment (b0, b1).
template <typename T>
__device__ inline void mma(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  if constexpr (std::is_same_v<T, bf16>) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
#else
  // The host picks the FMA kernels below sm_80; this body only keeps older targets compiling.
  (void)d, (void)a, (void)b0, (void)b1;
  __trap();
#endif
}

__device__ inline uint32_t smem_address(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// Four 8x8 matrices of 16-bit values; lane l gives the address of row l % 8 of matrix l / 8
// and receives, from matrix i, register i: row l / 4, cols 2(l % 4), 2(l % 4) + 1 (transposed
// with .trans).
__device__ inline void ldmatrix_x4(uint32_t (&r)[4], const void* row) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 750
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_address(row))
               : "memory");
#else
  (void)r, (void)row;
  __trap();
#endif
}

__device__ inline void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 750
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_address(row))
               : "memory");
#else
  (void)r, (void)row;
  __trap();
#endif
}

// 16 bytes global -> shared without passing through registers; `valid` false writes zeros and
// reads nothing (tails past the sequence end become zero rows).
__device__ inline void cp_async_16(void* smem, const void* gmem, bool valid) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const int bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_address(smem)),
               "l"(gmem), "r"(bytes)
               : "memory");
#else
  (void)smem, (void)gmem, (void)valid;
  __trap();
#endif
}

__device__ inline void cp_async_commit() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}

// Waits until at most `kPending` committed groups are still in flight.
template <int kPending>
__device__ inline void cp_async_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending) : "memory");
#endif
}

// Copies kRows x kDim of a row-major global tile (row stride kDim) into shared memory with row
// stride kStride; rows >= valid_rows become zeros. All kThreads threads share the 16-byte chunks.
template <int kRows, int kDim, int kStride, int kThreads, typename T>
__device__ inline void load_tile(T* smem, const T* gmem, int valid_rows) {
  constexpr int kChunksPerRow = kDim * static_cast<int>(sizeof(T)) / 16;
  constexpr int kChunks = kRows * kChunksPerRow;
  static_assert(kDim * sizeof(T) % 16 == 0, "rows must be whole 16-byte chunks");
#pragma unroll
  for (int c = static_cast<int>(threadIdx.x); c < kChunks; c += kThreads) {
    const int r = c / kChunksPerRow;
    const int col = (c % kChunksPerRow) * (16 / static_cast<int>(sizeof(T)));
    const bool valid = r < valid_rows;
    cp_async_16(smem + r * kStride + col, gmem + (valid ? r * kDim + col : 0), valid);
  }
}

// A fragment (rows m0..m0+15, cols k0..k0+15) of a tile stored [m][k].
template <int kStride, typename T>
__device__ inline void load_a(uint32_t (&a)[4], const T* s, int m0, int k0) {
  const int lane = static_cast<int>(threadIdx.x) & 31, mat = lane >> 3;
  ldmatrix_x4(a, s + (m0 + (lane & 7) + 8 * (mat & 1)) * kStride + k0 + 8 * (mat >> 1));
}

// A fragment (rows m0.., cols k0..) of Aᵀ where the tile is stored [k][m].
template <int kStride, typename T>
__device__ inline void load_a_trans(uint32_t (&a)[4], const T* s, int m0, int k0) {
  const int lane = static_cast<int>(threadIdx.x) & 31, mat = lane >> 3;
  ldmatrix_x4_trans(a, s + (k0 + (lane & 7) + 8 * (mat >> 1)) * kStride + m0 + 8 * (mat & 1));
}

// B fragments of the k16 step at k0 for two n8 tiles, n0 (b[0], b[1]) and n0 + 8 (b[2], b[3]),
// from a tile stored [n][k] (B = tileᵀ: K for Q·Kᵀ).
template <int kStride, typename T>
__device__ inline void load_b(uint32_t (&b)[4], const T* s, int n0, int k0) {
  const int lane = static_cast<int>(threadIdx.x) & 31, mat = lane >> 3;
  ldmatrix_x4(b, s + (n0 + (lane & 7) + 8 * (mat >> 1)) * kStride + k0 + 8 * (mat & 1));
}

// The same from a tile stored [k][n] (B = tile: V for P·V).
template <int kStride, typename T>
__device__ inline void load_b_trans(uint32_t (&b)[4], const T* s, int k0, int n0) {
  const int lane = static_cast<int>(threadIdx.x) & 31, mat = lane >> 3;
  ldmatrix_x4_trans(b, s + (k0 + (lane & 7) + 8 * (mat & 1)) * kStride + n0 + 8 * (mat >> 1));
}

// The A fragment of a k16 step whose 16 x 16 values sit in two neighbouring C tiles.
template <typename T>
__device__ inline void c_to_a(uint32_t (&a)[4], const float (&lo)[4], const float (&hi)[4]) {
  a[0] = pack2<T>(lo[0], lo[1]);
  a[1] = pack2<T>(lo[2], lo[3]);
  a[2] = pack2<T>(hi[0], hi[1]);
  a[3] = pack2<T>(hi[2], hi[3]);
}

// Max and sum over the 4 lanes (t = 0..3) that together hold one row of a C fragment.
__device__ inline float quad_max(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}

__device__ inline float quad_sum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

// Forward and dq pass: a block owns kBlockM query rows of one head, 16 per warp, and streams
// kBlockN keys at a time through two shared-memory stages.
template <int kDim_, int kBlockM_, int kBlockN_>
struct RowTile {
  static constexpr int kDim = kDim_;
  static constexpr int kBlockM = kBlockM_;
  static constexpr int kBlockN = kBlockN_;
  static constexpr int kWarps = kBlockM / 16;
  static constexpr int kThreads = 32 * kWarps;
  static constexpr int kStride = kDim + kSmemPad;
  static_assert(kBlockM % 16 == 0 && kBlockN % 16 == 0 && kDim % 16 == 0,
                "tiles are whole mma steps");
  // Forward: Q [kBlockM] and two stages of K, V [kBlockN].
  static constexpr int kForwardSmemBytes = (kBlockM + 4 * kBlockN) * kStride * 2;
  // dq pass: Q, dO [kBlockM] and two stages of K, V [kBlockN].
  static constexpr int kDqSmemBytes = (2 * kBlockM + 4 * kBlockN) * kStride * 2;
};

// dk/dv pass: a block owns kBlockN keys of one kv head, 16 per warp, and streams kBlockM query
// rows at a time (Q, dO, log-sum-exp and delta in two stages). The dq product dS·K of each step
// is split over the warps as kDqWarpsM row groups x kDqWarpsN column groups.
template <int kDim_, int kBlockM_, int kBlockN_>
struct KeyTile {
  static constexpr int kDim = kDim_;
  static constexpr int kBlockM = kBlockM_;
  static constexpr int kBlockN = kBlockN_;
  static constexpr int kWarps = kBlockN / 16;
  static constexpr int kThreads = 32 * kWarps;
  static constexpr int kStride = kDim + kSmemPad;
  static constexpr int kStrideDs = kBlockM + kSmemPad;
  static constexpr int kDqWarpsM = kBlockM / 16;
  static constexpr int kDqWarpsN = kWarps / kDqWarpsM;
  static constexpr int kDqCols = kDim / kDqWarpsN;
  static_assert(kBlockM % 16 == 0 && kBlockN % 16 == 0 && kDim % 16 == 0,
                "tiles are whole mma steps");
  static_assert(kWarps % kDqWarpsM == 0 && kDim % kDqWarpsN == 0 && kDqCols % 16 == 0,
                "the dq product must split evenly over the warps");
  // K, V; two stages of Q and dO; dSᵀ (16-bit); two stages of log-sum-exp and delta (f32).
  static constexpr int kSmemBytes =
      (2 * kBlockN + 4 * kBlockM) * kStride * 2 + kBlockN * kStrideDs * 2 + 4 * kBlockM * 4;
};

}  // namespace kiln::kernels::cuda::attention
