#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/vector_math.h"

// Work items are tiles: kTileQ query rows of one head share every block of keys they read (the
// forward and dq), and kTileK keys of one kv head share every query row they read (dk and dv).
// Items are independent, so they run in parallel with no atomics, and each output element is
// summed by one thread in a fixed order.
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

template <typename T>
inline T dot(const T* a, const T* b, int64_t n) {
  T s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// y += a · x
template <typename T>
inline void axpy(T a, const T* x, T* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

// delta[r] = a_r · b_r for `rows` rows of `dim`. Compiled like the tiles that use it, so that
// with a single visible key dO·v - delta is exactly 0, as it is mathematically.
template <typename T>
KILN_VECTOR_CLONES void row_dots(const T* a, const T* b, T* delta, int64_t rows, int64_t dim) {
  for (int64_t r = 0; r < rows; ++r) delta[r] = dot(a + r * dim, b + r * dim, dim);
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
  std::vector<T> p(static_cast<size_t>(kBlockK));
  const int64_t key_end = visible_keys(i0 + rows - 1, d);
  for (int64_t j0 = 0; j0 < key_end; j0 += kBlockK) {
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t n = std::min(visible_keys(i0 + r, d), j0 + kBlockK) - j0;
      if (n <= 0) continue;
      const T* qi = q + r * dim;
      for (int64_t j = 0; j < n; ++j) p[j] = dot(qi, k + (j0 + j) * dim, dim) * scale;
      // The running max grows: rescale what was summed under the old one.
      const T m_new = std::max(m[r], row_max(p.data(), n));
      const T alpha = fast_exp(m[r] - m_new);
      l[r] = l[r] * alpha + row_exp(p.data(), p.data(), n, m_new);
      T* a = acc.data() + r * dim;
#pragma omp simd
      for (int64_t c = 0; c < dim; ++c) a[c] *= alpha;
      for (int64_t j = 0; j < n; ++j) axpy(p[j], v + (j0 + j) * dim, a, dim);
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

// dq for query rows [i0, i0 + rows) of one head (pointers as in forward_tile; delta = dO·O):
// dq_i = scale · Σ_j p_ij (dO_i · v_j - delta_i) k_j.
template <typename T>
KILN_VECTOR_CLONES void dq_tile(const T* q, const T* k, const T* v, const T* dout, const T* lse,
                                const T* delta, T* dq, int64_t i0, int64_t rows,
                                const AttentionDims& d) {
  const int64_t dim = d.dim;
  const T scale = static_cast<T>(d.scale);
  std::vector<T> acc(static_cast<size_t>(rows * dim), T(0));
  const int64_t key_end = visible_keys(i0 + rows - 1, d);
  for (int64_t j0 = 0; j0 < key_end; j0 += kBlockK) {
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t n = std::min(visible_keys(i0 + r, d), j0 + kBlockK) - j0;
      const T* qi = q + r * dim;
      const T* doi = dout + r * dim;
      T* a = acc.data() + r * dim;
      for (int64_t j = 0; j < n; ++j) {
        const T* kj = k + (j0 + j) * dim;
        const T p = fast_exp(dot(qi, kj, dim) * scale - lse[r]);
        axpy(p * (dot(doi, v + (j0 + j) * dim, dim) - delta[r]), kj, a, dim);
      }
    }
  }
#pragma omp simd
  for (int64_t c = 0; c < rows * dim; ++c) dq[c] = acc[static_cast<size_t>(c)] * scale;
}

// dk, dv for keys [j0, j0 + keys) of one kv head, summed over the `group` query heads that read
// it: k, v, dk, dv point at key j0; q, dout, lse, delta at row 0 of the group's first head.
template <typename T>
KILN_VECTOR_CLONES void dkv_tile(const T* q, const T* k, const T* v, const T* dout, const T* lse,
                                 const T* delta, T* dk, T* dv, int64_t j0, int64_t keys,
                                 int64_t group, const AttentionDims& d) {
  const int64_t dim = d.dim;
  const T scale = static_cast<T>(d.scale);
  std::vector<T> dk_acc(static_cast<size_t>(keys * dim), T(0));
  std::vector<T> dv_acc(static_cast<size_t>(keys * dim), T(0));
  // Query i sees key j when i >= j - (tk - tq): earlier queries see none of this tile.
  const int64_t i_begin = d.causal ? std::clamp<int64_t>(j0 - (d.tk - d.tq), 0, d.tq) : 0;
  for (int64_t h = 0; h < group; ++h) {
    for (int64_t i = i_begin; i < d.tq; ++i) {
      const int64_t row = h * d.tq + i;
      const int64_t n = std::min(visible_keys(i, d), j0 + keys) - j0;
      const T* qi = q + row * dim;
      const T* doi = dout + row * dim;
      for (int64_t j = 0; j < n; ++j) {
        const T p = fast_exp(dot(qi, k + j * dim, dim) * scale - lse[row]);
        axpy(p, doi, dv_acc.data() + j * dim, dim);
        axpy(p * (dot(doi, v + j * dim, dim) - delta[row]), qi, dk_acc.data() + j * dim, dim);
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
  const int64_t query_rows = d.batch * d.heads * d.tq;
  std::vector<T> delta(static_cast<size_t>(query_rows));
  const int64_t chunks = (query_rows + kTileQ - 1) / kTileQ;
#pragma omp parallel for if (parallel) schedule(static)
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    const int64_t first = chunk * kTileQ;
    row_dots(dout + first * dim, out + first * dim, delta.data() + first,
             std::min(kTileQ, query_rows - first), dim);
  }

  if (dq != nullptr) {
    const int64_t tiles = (d.tq + kTileQ - 1) / kTileQ;
#pragma omp parallel for if (parallel) schedule(dynamic)
    for (int64_t item = 0; item < d.batch * d.heads * tiles; ++item) {
      const int64_t bh = item / tiles;
      const int64_t i0 = (item % tiles) * kTileQ;
      const int64_t kv = (bh / d.heads) * d.kv_heads + (bh % d.heads) / group;
      const int64_t first = bh * d.tq + i0;
      dq_tile(q + first * dim, k + kv * d.tk * dim, v + kv * d.tk * dim, dout + first * dim,
              lse + first, delta.data() + first, dq + first * dim, i0, std::min(kTileQ, d.tq - i0),
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
      dkv_tile(q + first * dim, k + key * dim, v + key * dim, dout + first * dim, lse + first,
               delta.data() + first, dk != nullptr ? dk + key * dim : nullptr,
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
