#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

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
constexpr int64_t kParallelWork = 1 << 15;

// How many keys query i sees: a prefix of the keys.
int64_t visible_keys(int64_t i, const AttentionDims& d) {
  if (!d.causal) return d.tk;
  return std::clamp<int64_t>(i + d.tk - d.tq + 1, 0, d.tk);
}

// A vector register of T (AVX2 width; GCC lowers it to two SSE registers in the baseline clone)
// and the number of them a product keeps in flight: four independent sums hide the FMA latency.
template <typename T>
using Vec [[gnu::vector_size(32)]] = T;
template <typename T>
constexpr int64_t kLanes = sizeof(Vec<T>) / sizeof(T);
constexpr int kChains = 4;
static_assert(kBlockK % (kChains * 8) == 0 && kTileK % (kChains * 8) == 0);

// Unaligned loads; by reference, because returning a vector by value has a different ABI in
// the AVX2 clone and the baseline one (-Wpsabi).
template <typename V, typename T>
inline void load(V& v, const T* p) {
  std::memcpy(&v, p, sizeof v);
}
template <typename T, typename V>
inline void store(T* p, const V& v) {
  std::memcpy(p, &v, sizeof v);
}

// The transpose of rows [0, n) of x (row length dim) into xt [dim, kBlockK]. Columns n and up
// keep what they held (finite values: the buffers start zeroed): the products below compute
// whole vectors and the callers use the first n results.
template <typename T>
inline void transpose_block(const T* x, int64_t n, int64_t dim, T* xt) {
  for (int64_t j = 0; j < n; ++j)
    for (int64_t c = 0; c < dim; ++c) xt[c * kBlockK + j] = x[j * dim + c];
}

// out[j] = Σ_c a[c] · (bt[c][j] - shift[c]) for j < n (and garbage up to the next multiple of
// kChains · kLanes, within kBlockK), with B given transposed ([dim, kBlockK]); shift may be null.
// The chains are named variables, not an array: GCC keeps those in registers.
template <typename T>
inline void row_times_block(const T* a, const T* bt, const T* shift, int64_t n, int64_t dim,
                            T* out) {
  constexpr int64_t lanes = kLanes<T>;
  for (int64_t j0 = 0; j0 < n; j0 += kChains * lanes) {
    Vec<T> acc0 = {}, acc1 = {}, acc2 = {}, acc3 = {}, b0, b1, b2, b3;
    for (int64_t c = 0; c < dim; ++c) {
      const T ac = a[c];
      const T sc = shift != nullptr ? shift[c] : T(0);
      const T* b = bt + c * kBlockK + j0;
      load(b0, b);
      load(b1, b + lanes);
      load(b2, b + 2 * lanes);
      load(b3, b + 3 * lanes);
      acc0 += ac * (b0 - sc);
      acc1 += ac * (b1 - sc);
      acc2 += ac * (b2 - sc);
      acc3 += ac * (b3 - sc);
    }
    store(out + j0, acc0);
    store(out + j0 + lanes, acc1);
    store(out + j0 + 2 * lanes, acc2);
    store(out + j0 + 3 * lanes, acc3);
  }
}

// y[c] += Σ_j w[j · w_stride] · x[j · dim + c] for c < dim: n rows of x weighted and summed.
template <typename T>
inline void add_weighted_rows(const T* w, int64_t w_stride, const T* x, int64_t n, int64_t dim,
                              T* y) {
  constexpr int64_t lanes = kLanes<T>;
  int64_t c0 = 0;
  for (; c0 + kChains * lanes <= dim; c0 += kChains * lanes) {
    Vec<T> acc0, acc1, acc2, acc3, x0, x1, x2, x3;
    load(acc0, y + c0);
    load(acc1, y + c0 + lanes);
    load(acc2, y + c0 + 2 * lanes);
    load(acc3, y + c0 + 3 * lanes);
    for (int64_t j = 0; j < n; ++j) {
      const T wj = w[j * w_stride];
      const T* xj = x + j * dim + c0;
      load(x0, xj);
      load(x1, xj + lanes);
      load(x2, xj + 2 * lanes);
      load(x3, xj + 3 * lanes);
      acc0 += wj * x0;
      acc1 += wj * x1;
      acc2 += wj * x2;
      acc3 += wj * x3;
    }
    store(y + c0, acc0);
    store(y + c0 + lanes, acc1);
    store(y + c0 + 2 * lanes, acc2);
    store(y + c0 + 3 * lanes, acc3);
  }
  for (; c0 + lanes <= dim; c0 += lanes) {
    Vec<T> acc, xj;
    load(acc, y + c0);
    for (int64_t j = 0; j < n; ++j) {
      load(xj, x + j * dim + c0);
      acc += w[j * w_stride] * xj;
    }
    store(y + c0, acc);
  }
  for (; c0 < dim; ++c0) {
    T sum = y[c0];
    for (int64_t j = 0; j < n; ++j) sum += w[j * w_stride] * x[j * dim + c0];
    y[c0] = sum;
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
  std::vector<T> p(static_cast<size_t>(kBlockK));
  const int64_t key_end = visible_keys(i0 + rows - 1, d);
  for (int64_t j0 = 0; j0 < key_end; j0 += kBlockK) {
    transpose_block(k + j0 * dim, std::min(kBlockK, key_end - j0), dim, kt.data());
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t n = std::min(visible_keys(i0 + r, d), j0 + kBlockK) - j0;
      if (n <= 0) continue;
      row_times_block(q + r * dim, kt.data(), static_cast<const T*>(nullptr), n, dim, p.data());
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) p[j] *= scale;
      // The running max grows: rescale what was summed under the old one.
      const T m_new = std::max(m[r], row_max(p.data(), n));
      const T alpha = fast_exp(m[r] - m_new);
      l[r] = l[r] * alpha + row_exp(p.data(), p.data(), n, m_new);
      T* a = acc.data() + r * dim;
#pragma omp simd
      for (int64_t c = 0; c < dim; ++c) a[c] *= alpha;
      add_weighted_rows(p.data(), 1, v + j0 * dim, n, dim, a);
      m[r] = m_new;
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

// For one query row and a block of n keys (kt, vt transposed as above): p_j = exp(q·k_j · scale
// - lse) and ds_j = p_j (dO·v_j - dO·o), the softmax backward of the row's scores. The second
// factor is summed as dO·(v_j - o) rather than as a difference of two dot products: no
// cancellation, and exactly 0 when the row sees one key (o = v_j), as it is mathematically.
template <typename T>
inline void row_probabilities(const T* qi, const T* doi, const T* oi, const T* kt, const T* vt,
                              int64_t n, int64_t dim, T scale, T lse, T* p, T* ds) {
  row_times_block(qi, kt, static_cast<const T*>(nullptr), n, dim, p);
  row_times_block(doi, vt, oi, n, dim, ds);
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) {
    p[j] = fast_exp(p[j] * scale - lse);
    ds[j] *= p[j];
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
  std::vector<T> p(static_cast<size_t>(kBlockK));
  std::vector<T> ds(static_cast<size_t>(kBlockK));
  const int64_t key_end = visible_keys(i0 + rows - 1, d);
  for (int64_t j0 = 0; j0 < key_end; j0 += kBlockK) {
    const int64_t block = std::min(kBlockK, key_end - j0);
    transpose_block(k + j0 * dim, block, dim, kt.data());
    transpose_block(v + j0 * dim, block, dim, vt.data());
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t n = std::min(visible_keys(i0 + r, d), j0 + kBlockK) - j0;
      if (n <= 0) continue;
      row_probabilities(q + r * dim, dout + r * dim, o + r * dim, kt.data(), vt.data(), n, dim,
                        scale, lse[r], p.data(), ds.data());
      T* a = acc.data() + r * dim;
      add_weighted_rows(ds.data(), 1, k + j0 * dim, n, dim, a);
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
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t row = first + r;
        const int64_t n = std::clamp<int64_t>(visible_keys(i0 + r, d) - j0, 0, keys);
        T* pr = p.data() + r * kBlockK;
        T* dsr = ds.data() + r * kBlockK;
        if (n > 0)
          row_probabilities(q + row * dim, dout + row * dim, o + row * dim, kt.data(), vt.data(), n,
                            dim, scale, lse[row], pr, dsr);
        std::fill(pr + n, pr + keys, T(0));
        std::fill(dsr + n, dsr + keys, T(0));
      }
      // dv_j += Σ_r p_rj dO_r and dk_j += Σ_r ds_rj q_r over the chunk's rows.
      for (int64_t j = 0; j < keys; ++j) {
        add_weighted_rows(p.data() + j, kBlockK, dout + first * dim, rows, dim,
                          dv_acc.data() + j * dim);
        add_weighted_rows(ds.data() + j, kBlockK, q + first * dim, rows, dim,
                          dk_acc.data() + j * dim);
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
