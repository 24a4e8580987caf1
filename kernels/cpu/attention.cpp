#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vector_math.h"

// Work items are tiles: kTileQ query rows of one head share every block of keys they read (the
// forward and dq), and kTileK keys of one kv head share every query row they read (dk and dv).
// Items are independent, so they run in parallel with no atomics, and each output element is
// summed by one thread in a fixed order.
//
// Inside a tile the work is small matrix products: scores S = Q·Kᵀ for a block of keys, then
// P·V, dS·K, Pᵀ·dO and dSᵀ·Q. Each output is computed kLanes contiguous elements at a time
// (keys of a transposed K or V block, or a slice of the head dim) with the sum kept in a
// register across the reduced dim, so the loops vectorise with no horizontal sums and no
// load/store of the output per term: a dot product per (query, key) pair, or an axpy per key,
// ran at a fraction of the speed.
namespace kiln::kernels::cpu {
namespace {

constexpr int64_t kTileQ = 32;
constexpr int64_t kBlockK = 64;
constexpr int64_t kTileK = 32;

// How many keys query i sees: a prefix of the keys.
int64_t visible_keys(int64_t i, const AttentionDims& d) {
  if (!d.causal) return d.tk;
  return std::clamp<int64_t>(i + d.tk - d.tq + 1, 0, d.tk);
}

// A vector register of T (AVX2 width; GCC lowers it to two SSE registers in the baseline clone),
// and its unaligned, aliasing twin for loads and stores.
template <typename T>
using Vec [[gnu::vector_size(32)]] = T;
template <typename T>
using UnalignedVec [[gnu::vector_size(32), gnu::aligned(alignof(T)), gnu::may_alias]] = T;
template <typename T>
constexpr int64_t kLanes = sizeof(Vec<T>) / sizeof(T);
// Rows of a product computed together: each vector loaded from the shared operand feeds
// kGroup · 2 independent FMAs held in registers (8 accumulators), instead of one.
constexpr int kGroup = 4;
static_assert(kBlockK % 16 == 0 && kTileK % 16 == 0, "products compute 2 vectors of keys");

// By reference: returning a vector by value has a different ABI in the AVX2 clone and the
// baseline one (-Wpsabi). The helpers below are always inlined: they must be compiled into the
// tile functions' AVX2 clones, and GCC would otherwise keep the larger ones out of line, built
// for the baseline target only.
template <typename V, typename T>
[[gnu::always_inline]] inline void load(V& v, const T* p) {
  v = *reinterpret_cast<const UnalignedVec<T>*>(p);
}
template <typename T, typename V>
[[gnu::always_inline]] inline void store(T* p, const V& v) {
  *reinterpret_cast<UnalignedVec<T>*>(p) = v;
}

// The transpose of rows [0, n) of x (row length dim) into xt [dim, kBlockK]. Columns n and up
// keep what they held (finite values: the buffers start zeroed): the products below compute
// whole vectors and the callers use the first n results.
template <typename T>
[[gnu::always_inline]] inline void transpose_block(const T* x, int64_t n, int64_t dim, T* xt) {
  for (int64_t j = 0; j < n; ++j)
    for (int64_t c = 0; c < dim; ++c) xt[c * kBlockK + j] = x[j * dim + c];
}

// out[r][j] = Σ_c a[r][c] · (bt[c][j] - shift[r][c]) for r < R and j < n, with B given
// transposed ([dim, kBlockK]); a and shift are R rows of length dim, out R rows of kBlockK.
// Columns from n up to the next multiple of two vectors get values the callers ignore.
// Without Shift, shift is not read.
template <int R, bool Shift, typename T>
[[gnu::always_inline]] inline void rows_times_block(const T* a, const T* bt, const T* shift,
                                                    int64_t n, int64_t dim, T* out) {
  constexpr int64_t lanes = kLanes<T>;
  for (int64_t j0 = 0; j0 < n; j0 += 2 * lanes) {
    Vec<T> acc[R][2] = {};
    for (int64_t c = 0; c < dim; ++c) {
      Vec<T> b0, b1;
      load(b0, bt + c * kBlockK + j0);
      load(b1, bt + c * kBlockK + j0 + lanes);
      for (int r = 0; r < R; ++r) {
        const T ar = a[r * dim + c];
        if constexpr (Shift) {
          const T sr = shift[r * dim + c];
          acc[r][0] += ar * (b0 - sr);
          acc[r][1] += ar * (b1 - sr);
        } else {
          acc[r][0] += ar * b0;
          acc[r][1] += ar * b1;
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      store(out + r * kBlockK + j0, acc[r][0]);
      store(out + r * kBlockK + j0 + lanes, acc[r][1]);
    }
  }
}

// y[r][c] += Σ_j w[r · w_row + j · w_col] · x[j][c] for r < R, j < n, c < dim: R rows of
// weights applied to n rows of x (row length dim), added to R rows of y (row length dim).
template <int R, typename T>
[[gnu::always_inline]] inline void add_weighted_rows(const T* w, int64_t w_row, int64_t w_col,
                                                     const T* x, int64_t n, int64_t dim, T* y) {
  constexpr int64_t lanes = kLanes<T>;
  int64_t c0 = 0;
  for (; c0 + 2 * lanes <= dim; c0 += 2 * lanes) {
    Vec<T> acc[R][2];
    for (int r = 0; r < R; ++r) {
      load(acc[r][0], y + r * dim + c0);
      load(acc[r][1], y + r * dim + c0 + lanes);
    }
    for (int64_t j = 0; j < n; ++j) {
      Vec<T> x0, x1;
      load(x0, x + j * dim + c0);
      load(x1, x + j * dim + c0 + lanes);
      for (int r = 0; r < R; ++r) {
        const T wr = w[r * w_row + j * w_col];
        acc[r][0] += wr * x0;
        acc[r][1] += wr * x1;
      }
    }
    for (int r = 0; r < R; ++r) {
      store(y + r * dim + c0, acc[r][0]);
      store(y + r * dim + c0 + lanes, acc[r][1]);
    }
  }
  for (; c0 < dim; ++c0) {
    for (int r = 0; r < R; ++r) {
      T sum = y[r * dim + c0];
      for (int64_t j = 0; j < n; ++j) sum += w[r * w_row + j * w_col] * x[j * dim + c0];
      y[r * dim + c0] = sum;
    }
  }
}

// Calls f(std::integral_constant<int, R>) for R = count (1 ≤ count ≤ kGroup): the row-group
// products take their row count as a template parameter, so their accumulators stay registers.
template <typename F>
[[gnu::always_inline]] inline void with_group_size(int64_t count, F f) {
  switch (count) {
    case 1:
      return f(std::integral_constant<int, 1>{});
    case 2:
      return f(std::integral_constant<int, 2>{});
    case 3:
      return f(std::integral_constant<int, 3>{});
    default:
      return f(std::integral_constant<int, kGroup>{});
  }
}

// Query rows [i0, i0 + rows) of one head: q, out and lse point at row i0; k and v at the kv head.
template <typename T>
KILN_VECTOR_CLONES void forward_tile(const T* q, const T* k, const T* v, T* out, T* lse, int64_t i0,
                                     int64_t rows, const AttentionDims& d) {
  const int64_t dim = d.dim;
  const T scale = static_cast<T>(d.scale);
  std::vector<T> acc(static_cast<size_t>(rows * dim), T(0));
  std::vector<T> m(static_cast<size_t>(rows), -std::numeric_limits<T>::infinity());
  std::vector<T> l(static_cast<size_t>(rows), T(0));
  std::vector<T> kt(static_cast<size_t>(dim * kBlockK));
  std::vector<T> p(static_cast<size_t>(kGroup * kBlockK));
  const int64_t key_end = visible_keys(i0 + rows - 1, d);
  for (int64_t j0 = 0; j0 < key_end; j0 += kBlockK) {
    transpose_block(k + j0 * dim, std::min(kBlockK, key_end - j0), dim, kt.data());
    for (int64_t r0 = 0; r0 < rows; r0 += kGroup) {
      const int64_t group = std::min<int64_t>(kGroup, rows - r0);
      // The group's last row sees the most keys (a causal prefix grows with the row).
      const int64_t n_max = std::min(visible_keys(i0 + r0 + group - 1, d), j0 + kBlockK) - j0;
      if (n_max <= 0) continue;
      with_group_size(
          group, [&](auto size) __attribute__((always_inline)) {
            rows_times_block<decltype(size)::value, false>(
                q + r0 * dim, kt.data(), static_cast<const T*>(nullptr), n_max, dim, p.data());
          });
      for (int64_t g = 0; g < group; ++g) {
        const int64_t r = r0 + g;
        T* pr = p.data() + g * kBlockK;
        const int64_t n = std::clamp<int64_t>(visible_keys(i0 + r, d) - j0, 0, n_max);
        std::fill(pr + n, pr + n_max, T(0));
        if (n == 0) continue;
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) pr[j] *= scale;
        // The running max grows: rescale what was summed under the old one.
        const T m_new = std::max(m[r], row_max(pr, n));
        const T alpha = fast_exp(m[r] - m_new);
        l[r] = l[r] * alpha + row_exp(pr, pr, n, m_new);
        T* a = acc.data() + r * dim;
#pragma omp simd
        for (int64_t c = 0; c < dim; ++c) a[c] *= alpha;
        m[r] = m_new;
      }
      with_group_size(
          group, [&](auto size) __attribute__((always_inline)) {
            add_weighted_rows<decltype(size)::value>(p.data(), kBlockK, 1, v + j0 * dim, n_max, dim,
                                                     acc.data() + r0 * dim);
          });
    }
  }
  for (int64_t r = 0; r < rows; ++r) {
    T* o = out + r * dim;
    const T* a = acc.data() + r * dim;
    if (l[r] > T(0)) {
      const T inv = T(1) / l[r];
#pragma omp simd
      for (int64_t c = 0; c < dim; ++c) o[c] = a[c] * inv;
      lse[r] = m[r] + std::log(l[r]);
    } else {
      std::fill(o, o + dim, T(0));
      lse[r] = -std::numeric_limits<T>::infinity();
    }
  }
}

// For a group of query rows (q, dO, o, lse at its first row) against a block of n_max keys (kt,
// vt transposed as above): p_rj = exp(q_r·k_j · scale - lse_r) and ds_rj = p_rj (dO_r·v_j -
// dO_r·o_r), the softmax backward of the scores; entries past the keys row r sees (n_r, from
// `visible`) are 0. The second factor is summed as dO·(v_j - o) rather than as a difference of
// two dot products: no cancellation, and exactly 0 when the row sees one key (o = v_j), as it
// is mathematically.
template <int R, typename T, typename Visible>
[[gnu::always_inline]] inline void group_probabilities(const T* q, const T* dout, const T* o,
                                                       const T* lse, const T* kt, const T* vt,
                                                       int64_t n_max, int64_t dim, T scale,
                                                       Visible visible, T* p, T* ds) {
  rows_times_block<R, false>(q, kt, static_cast<const T*>(nullptr), n_max, dim, p);
  rows_times_block<R, true>(dout, vt, o, n_max, dim, ds);
  for (int g = 0; g < R; ++g) {
    T* pr = p + g * kBlockK;
    T* dsr = ds + g * kBlockK;
    const int64_t n = visible(g);
    const T lse_r = lse[g];
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) {
      pr[j] = fast_exp(pr[j] * scale - lse_r);
      dsr[j] *= pr[j];
    }
    std::fill(pr + n, pr + n_max, T(0));
    std::fill(dsr + n, dsr + n_max, T(0));
  }
}

// dq for query rows [i0, i0 + rows) of one head (pointers as in forward_tile; o the output):
// dq_i = scale · Σ_j p_ij (dO_i · (v_j - o_i)) k_j.
template <typename T>
KILN_VECTOR_CLONES void dq_tile(const T* q, const T* k, const T* v, const T* o, const T* dout,
                                const T* lse, T* dq, int64_t i0, int64_t rows,
                                const AttentionDims& d) {
  const int64_t dim = d.dim;
  const T scale = static_cast<T>(d.scale);
  std::vector<T> acc(static_cast<size_t>(rows * dim), T(0));
  std::vector<T> kt(static_cast<size_t>(dim * kBlockK));
  std::vector<T> vt(static_cast<size_t>(dim * kBlockK));
  std::vector<T> p(static_cast<size_t>(kGroup * kBlockK));
  std::vector<T> ds(static_cast<size_t>(kGroup * kBlockK));
  const int64_t key_end = visible_keys(i0 + rows - 1, d);
  for (int64_t j0 = 0; j0 < key_end; j0 += kBlockK) {
    const int64_t block = std::min(kBlockK, key_end - j0);
    transpose_block(k + j0 * dim, block, dim, kt.data());
    transpose_block(v + j0 * dim, block, dim, vt.data());
    for (int64_t r0 = 0; r0 < rows; r0 += kGroup) {
      const int64_t group = std::min<int64_t>(kGroup, rows - r0);
      const int64_t n_max = std::min(visible_keys(i0 + r0 + group - 1, d), j0 + kBlockK) - j0;
      if (n_max <= 0) continue;
      const auto visible = [&](int64_t g) {
        return std::clamp<int64_t>(visible_keys(i0 + r0 + g, d) - j0, 0, n_max);
      };
      with_group_size(
          group, [&](auto size) __attribute__((always_inline)) {
            constexpr int R = decltype(size)::value;
            group_probabilities<R>(q + r0 * dim, dout + r0 * dim, o + r0 * dim, lse + r0, kt.data(),
                                   vt.data(), n_max, dim, scale, visible, p.data(), ds.data());
            add_weighted_rows<R>(ds.data(), kBlockK, 1, k + j0 * dim, n_max, dim,
                                 acc.data() + r0 * dim);
          });
    }
  }
#pragma omp simd
  for (int64_t c = 0; c < rows * dim; ++c) dq[c] = acc[static_cast<size_t>(c)] * scale;
}

// dk, dv for keys [j0, j0 + keys) of one kv head, summed over the `group` query heads that read
// it: k, v, dk, dv point at key j0; q, o, dout, lse at row 0 of the group's first head.
template <typename T>
KILN_VECTOR_CLONES void dkv_tile(const T* q, const T* k, const T* v, const T* o, const T* dout,
                                 const T* lse, T* dk, T* dv, int64_t j0, int64_t keys,
                                 int64_t group, const AttentionDims& d) {
  const int64_t dim = d.dim;
  const T scale = static_cast<T>(d.scale);
  std::vector<T> dk_acc(static_cast<size_t>(keys * dim), T(0));
  std::vector<T> dv_acc(static_cast<size_t>(keys * dim), T(0));
  std::vector<T> kt(static_cast<size_t>(dim * kBlockK));
  std::vector<T> vt(static_cast<size_t>(dim * kBlockK));
  // P and dS of a chunk of query rows against this tile's keys, one row per query; a row's
  // entries past the keys it sees are 0.
  std::vector<T> p(static_cast<size_t>(kTileQ * kBlockK));
  std::vector<T> ds(static_cast<size_t>(kTileQ * kBlockK));
  transpose_block(k, keys, dim, kt.data());
  transpose_block(v, keys, dim, vt.data());
  // Query i sees key j when i >= j - (tk - tq): earlier queries see none of this tile.
  const int64_t i_begin = d.causal ? std::clamp<int64_t>(j0 - (d.tk - d.tq), 0, d.tq) : 0;
  for (int64_t h = 0; h < group; ++h) {
    for (int64_t i0 = i_begin; i0 < d.tq; i0 += kTileQ) {
      const int64_t rows = std::min(kTileQ, d.tq - i0);
      const int64_t first = h * d.tq + i0;
      for (int64_t r0 = 0; r0 < rows; r0 += kGroup) {
        const int64_t count = std::min<int64_t>(kGroup, rows - r0);
        const auto visible = [&](int64_t g) {
          return std::clamp<int64_t>(visible_keys(i0 + r0 + g, d) - j0, 0, keys);
        };
        const int64_t row = first + r0;
        with_group_size(
            count, [&](auto size) __attribute__((always_inline)) {
              group_probabilities<decltype(size)::value>(
                  q + row * dim, dout + row * dim, o + row * dim, lse + row, kt.data(), vt.data(),
                  keys, dim, scale, visible, p.data() + r0 * kBlockK, ds.data() + r0 * kBlockK);
            });
      }
      // dv_j += Σ_r p_rj dO_r and dk_j += Σ_r ds_rj q_r over the chunk's rows, kGroup keys at
      // a time (the weights of key j are column j of P and dS).
      for (int64_t j = 0; j < keys; j += kGroup) {
        with_group_size(
            std::min<int64_t>(kGroup, keys - j), [&](auto size) __attribute__((always_inline)) {
              constexpr int R = decltype(size)::value;
              add_weighted_rows<R>(p.data() + j, 1, kBlockK, dout + first * dim, rows, dim,
                                   dv_acc.data() + j * dim);
              add_weighted_rows<R>(ds.data() + j, 1, kBlockK, q + first * dim, rows, dim,
                                   dk_acc.data() + j * dim);
            });
      }
    }
  }
  if (dk != nullptr) {
#pragma omp simd
    for (int64_t c = 0; c < keys * dim; ++c) dk[c] = dk_acc[static_cast<size_t>(c)] * scale;
  }
  if (dv != nullptr) std::copy(dv_acc.begin(), dv_acc.end(), dv);
}

}  // namespace

template <typename T>
void attention_forward(const T* q, const T* k, const T* v, T* out, T* lse, const AttentionDims& d) {
  const int64_t tiles = (d.tq + kTileQ - 1) / kTileQ;
  const int64_t items = d.batch * d.heads * tiles;
  const int64_t group = d.heads / d.kv_heads;
  const bool parallel = d.batch * d.heads * d.tq * d.tk * d.dim > kParallelWork;
#pragma omp parallel for if (parallel) schedule(dynamic)
  for (int64_t item = 0; item < items; ++item) {
    const int64_t bh = item / tiles;  // b · heads + h
    const int64_t i0 = (item % tiles) * kTileQ;
    const int64_t kv = (bh / d.heads) * d.kv_heads + (bh % d.heads) / group;
    forward_tile(q + (bh * d.tq + i0) * d.dim, k + kv * d.tk * d.dim, v + kv * d.tk * d.dim,
                 out + (bh * d.tq + i0) * d.dim, lse + bh * d.tq + i0, i0,
                 std::min(kTileQ, d.tq - i0), d);
  }
}

template <typename T>
void attention_backward(const T* q, const T* k, const T* v, const T* out, const T* lse,
                        const T* dout, T* dq, T* dk, T* dv, const AttentionDims& d) {
  const int64_t dim = d.dim;
  const int64_t group = d.heads / d.kv_heads;
  const bool parallel = d.batch * d.heads * d.tq * d.tk * d.dim > kParallelWork;
  if (dq != nullptr) {
    const int64_t tiles = (d.tq + kTileQ - 1) / kTileQ;
#pragma omp parallel for if (parallel) schedule(dynamic)
    for (int64_t item = 0; item < d.batch * d.heads * tiles; ++item) {
      const int64_t bh = item / tiles;
      const int64_t i0 = (item % tiles) * kTileQ;
      const int64_t kv = (bh / d.heads) * d.kv_heads + (bh % d.heads) / group;
      const int64_t first = bh * d.tq + i0;
      dq_tile(q + first * dim, k + kv * d.tk * dim, v + kv * d.tk * dim, out + first * dim,
              dout + first * dim, lse + first, dq + first * dim, i0, std::min(kTileQ, d.tq - i0),
              d);
    }
  }
  if (dk != nullptr || dv != nullptr) {
    const int64_t tiles = (d.tk + kTileK - 1) / kTileK;
#pragma omp parallel for if (parallel) schedule(dynamic)
    for (int64_t item = 0; item < d.batch * d.kv_heads * tiles; ++item) {
      const int64_t kv = item / tiles;  // b · kv_heads + kv head
      const int64_t j0 = (item % tiles) * kTileK;
      // The group's first query head: b · heads + (kv head) · group.
      const int64_t first = ((kv / d.kv_heads) * d.heads + (kv % d.kv_heads) * group) * d.tq;
      const int64_t key = kv * d.tk + j0;
      dkv_tile(q + first * dim, k + key * dim, v + key * dim, out + first * dim, dout + first * dim,
               lse + first, dk != nullptr ? dk + key * dim : nullptr,
               dv != nullptr ? dv + key * dim : nullptr, j0, std::min(kTileK, d.tk - j0), group, d);
    }
  }
}

#define KILN_INSTANTIATE_ATTENTION(T)                                                             \
  template void attention_forward<T>(const T*, const T*, const T*, T*, T*, const AttentionDims&); \
  template void attention_backward<T>(const T*, const T*, const T*, const T*, const T*, const T*, \
                                      T*, T*, T*, const AttentionDims&);
KILN_INSTANTIATE_ATTENTION(float)
KILN_INSTANTIATE_ATTENTION(double)

}  // namespace kiln::kernels::cpu
