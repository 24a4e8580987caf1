#include "kernels/reduce.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace kiln::kernels::cpu {
namespace {

// A long reduction is cut into blocks of this many elements whose partial results combine in
// block order, so a few outputs over many elements can still use every thread, and the result
// does not depend on how many threads there were.
constexpr int64_t kBlock = 1 << 13;
// Below this many independent outputs (or column groups) the blocks of one output are spread
// over threads.
constexpr int64_t kManyOutputs = 64;
// Output columns accumulated together when the kept dims are the contiguous ones, and the
// reduced elements per block in that case.
constexpr int64_t kColumnChunk = 64;
constexpr int64_t kColumnBlock = 1024;

int64_t layout_numel(const StridedLayout& layout) {
  int64_t n = 1;
  for (int d = 0; d < layout.ndim; ++d) n *= layout.shape[d];
  return n;
}

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// The reduced elements as rows: the last dim is walked with one stride, the other dims (the
// prefix) through offset_of, once per row.
struct Rows {
  StridedLayout prefix;
  int64_t length = 1;
  int64_t stride = 0;
};

Rows as_rows(const StridedLayout& layout) {
  Rows rows;
  if (layout.ndim == 0) return rows;
  rows.prefix = layout;
  rows.prefix.ndim = layout.ndim - 1;
  rows.length = layout.shape[layout.ndim - 1];
  rows.stride = layout.strides[layout.ndim - 1];
  return rows;
}

// Calls f(first, stride, count, j_first) on the row segments covering reduced elements
// [j0, j1), in order.
template <typename T, typename F>
void for_each_segment(const T* base, const Rows& rows, int64_t j0, int64_t j1, F&& f) {
  while (j0 < j1) {
    const int64_t r = j0 / rows.length;
    const int64_t k = j0 - r * rows.length;
    const int64_t n = std::min(rows.length - k, j1 - j0);
    f(base + rows.prefix.offset_of(r) + k * rows.stride, rows.stride, n, j0);
    j0 += n;
  }
}

template <typename T>
struct SumPolicy {
  using Acc = double;
  T* out;
  double scale;

  static Acc init() { return 0.0; }
  static void add(Acc& acc, T v, int64_t) { acc += static_cast<double>(v); }
  // Four partial sums break the dependency chain of one accumulator.
  static void segment(Acc& acc, const T* p, int64_t stride, int64_t n, int64_t) {
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int64_t k = 0;
    if (stride == 1) {
      for (; k + 4 <= n; k += 4) {
        s0 += static_cast<double>(p[k]);
        s1 += static_cast<double>(p[k + 1]);
        s2 += static_cast<double>(p[k + 2]);
        s3 += static_cast<double>(p[k + 3]);
      }
      for (; k < n; ++k) s0 += static_cast<double>(p[k]);
    } else {
      for (; k + 4 <= n; k += 4) {
        s0 += static_cast<double>(p[k * stride]);
        s1 += static_cast<double>(p[(k + 1) * stride]);
        s2 += static_cast<double>(p[(k + 2) * stride]);
        s3 += static_cast<double>(p[(k + 3) * stride]);
      }
      for (; k < n; ++k) s0 += static_cast<double>(p[k * stride]);
    }
    acc += (s0 + s1) + (s2 + s3);
  }
  static void combine(Acc& acc, const Acc& later) { acc += later; }
  void finish(int64_t o, const Acc& acc) const { out[o] = static_cast<T>(acc * scale); }
};

template <typename T>
struct MaxPolicy {
  struct Acc {
    T value;
    int64_t index;  // -1 while nothing has been seen
  };
  T* out;
  int64_t* index;

  // Strictly greater keeps the first maximum; a NaN beats any number and the first NaN stays.
  static bool beats(T v, const Acc& acc) {
    return acc.index < 0 || v > acc.value || (v != v && acc.value == acc.value);
  }
  static Acc init() { return {T(0), -1}; }
  static void add(Acc& acc, T v, int64_t j) {
    if (beats(v, acc)) acc = {v, j};
  }
  static void segment(Acc& acc, const T* p, int64_t stride, int64_t n, int64_t j0) {
    for (int64_t k = 0; k < n; ++k) add(acc, p[k * stride], j0 + k);
  }
  static void combine(Acc& acc, const Acc& later) {
    if (later.index >= 0 && beats(later.value, acc)) acc = later;
  }
  void finish(int64_t o, const Acc& acc) const {
    if (out != nullptr) out[o] = acc.value;
    if (index != nullptr) index[o] = acc.index;
  }
};

// Each output walks its reduced elements in memory order (the reduced dims hold the smallest
// stride).
template <typename Policy, typename T>
void reduce_rows(const T* in, const StridedLayout& outer, const StridedLayout& reduced,
                 const Policy& policy, int64_t num_out, int64_t num_reduced, bool parallel) {
  using Acc = typename Policy::Acc;
  const Rows rows = as_rows(reduced);
  const int64_t blocks = std::max<int64_t>(1, ceil_div(num_reduced, kBlock));
  auto block_result = [&](int64_t o, int64_t b) {
    Acc acc = Policy::init();
    for_each_segment(in + outer.offset_of(o), rows, b * kBlock,
                     std::min(num_reduced, (b + 1) * kBlock),
                     [&](const T* p, int64_t stride, int64_t n, int64_t j0) {
                       Policy::segment(acc, p, stride, n, j0);
                     });
    return acc;
  };
  if (blocks == 1 || num_out >= kManyOutputs) {
#pragma omp parallel for if (parallel) schedule(static)
    for (int64_t o = 0; o < num_out; ++o) {
      Acc acc = Policy::init();
      for (int64_t b = 0; b < blocks; ++b) Policy::combine(acc, block_result(o, b));
      policy.finish(o, acc);
    }
    return;
  }
  std::vector<Acc> partial(static_cast<size_t>(num_out * blocks));
#pragma omp parallel for if (parallel) schedule(static)
  for (int64_t t = 0; t < num_out * blocks; ++t)
    partial[static_cast<size_t>(t)] = block_result(t / blocks, t % blocks);
  for (int64_t o = 0; o < num_out; ++o) {
    Acc acc = Policy::init();
    for (int64_t b = 0; b < blocks; ++b)
      Policy::combine(acc, partial[static_cast<size_t>(o * blocks + b)]);
    policy.finish(o, acc);
  }
}

// The kept dims hold the smallest stride (e.g. summing [N, C] over N): a group of neighbouring
// output columns is accumulated together so every read moves along memory, instead of each
// output striding through the whole input on its own. The reduced elements are cut into
// blocks like the rows are, so a few column groups over many rows still use every thread.
template <typename Policy, typename T>
void reduce_columns(const T* in, const StridedLayout& outer, const StridedLayout& reduced,
                    const Policy& policy, int64_t num_out, int64_t num_reduced, bool parallel) {
  using Acc = typename Policy::Acc;
  const int last = outer.ndim - 1;
  const int64_t width_total = outer.shape[last];
  const int64_t column_stride = outer.strides[last];
  StridedLayout outer_prefix = outer;
  outer_prefix.ndim = last;
  const int64_t chunks = ceil_div(width_total, kColumnChunk);
  const int64_t groups = num_out / width_total * chunks;
  const int64_t blocks = std::max<int64_t>(1, ceil_div(num_reduced, kColumnBlock));
  const Rows rows = as_rows(reduced);
  auto width_of = [&](int64_t group) {
    return std::min(kColumnChunk, width_total - (group % chunks) * kColumnChunk);
  };
  // Accumulates block b of the group's columns into acc[0, width).
  auto block_result = [&](int64_t group, int64_t b, Acc* acc) {
    const int64_t width = width_of(group);
    std::fill(acc, acc + width, Policy::init());
    const T* base = in + outer_prefix.offset_of(group / chunks) +
                    (group % chunks) * kColumnChunk * column_stride;
    for_each_segment(base, rows, b * kColumnBlock, std::min(num_reduced, (b + 1) * kColumnBlock),
                     [&](const T* p, int64_t stride, int64_t n, int64_t j0) {
                       for (int64_t k = 0; k < n; ++k) {
                         const T* q = p + k * stride;
                         if (column_stride == 1) {
                           for (int64_t l = 0; l < width; ++l) Policy::add(acc[l], q[l], j0 + k);
                         } else {
                           for (int64_t l = 0; l < width; ++l)
                             Policy::add(acc[l], q[l * column_stride], j0 + k);
                         }
                       }
                     });
  };
  auto finish_group = [&](int64_t group, const Acc* acc) {
    const int64_t first = group / chunks * width_total + (group % chunks) * kColumnChunk;
    for (int64_t l = 0; l < width_of(group); ++l) policy.finish(first + l, acc[l]);
  };
  if (blocks == 1 || groups >= kManyOutputs) {
#pragma omp parallel for if (parallel) schedule(static)
    for (int64_t group = 0; group < groups; ++group) {
      Acc total[kColumnChunk];
      Acc part[kColumnChunk];
      const int64_t width = width_of(group);
      std::fill(total, total + width, Policy::init());
      for (int64_t b = 0; b < blocks; ++b) {
        block_result(group, b, part);
        for (int64_t l = 0; l < width; ++l) Policy::combine(total[l], part[l]);
      }
      finish_group(group, total);
    }
    return;
  }
  std::vector<Acc> partial(static_cast<size_t>(groups * blocks * kColumnChunk));
#pragma omp parallel for if (parallel) schedule(static)
  for (int64_t t = 0; t < groups * blocks; ++t)
    block_result(t / blocks, t % blocks, partial.data() + t * kColumnChunk);
  for (int64_t group = 0; group < groups; ++group) {
    Acc total[kColumnChunk];
    const int64_t width = width_of(group);
    std::fill(total, total + width, Policy::init());
    for (int64_t b = 0; b < blocks; ++b) {
      const Acc* part = partial.data() + (group * blocks + b) * kColumnChunk;
      for (int64_t l = 0; l < width; ++l) Policy::combine(total[l], part[l]);
    }
    finish_group(group, total);
  }
}

template <typename Policy, typename T>
void reduce(const T* in, const StridedLayout& outer, const StridedLayout& reduced,
            const Policy& policy) {
  const int64_t num_out = layout_numel(outer);
  const int64_t num_reduced = layout_numel(reduced);
  if (num_out == 0) return;
  const bool parallel = num_out * std::max<int64_t>(num_reduced, 1) > kParallelWork;
  const bool columns =
      outer.ndim > 0 && reduced.ndim > 0 && outer.strides[outer.ndim - 1] != 0 &&
      std::abs(outer.strides[outer.ndim - 1]) < std::abs(reduced.strides[reduced.ndim - 1]);
  if (columns) {
    reduce_columns(in, outer, reduced, policy, num_out, num_reduced, parallel);
  } else {
    reduce_rows(in, outer, reduced, policy, num_out, num_reduced, parallel);
  }
}

}  // namespace

template <typename T>
void sum_reduce(const T* in, const StridedLayout& outer, const StridedLayout& reduced, T* out,
                double scale) {
  reduce(in, outer, reduced, SumPolicy<T>{out, scale});
}

template <typename T>
void max_reduce(const T* in, const StridedLayout& outer, const StridedLayout& reduced, T* out,
                int64_t* index) {
  reduce(in, outer, reduced, MaxPolicy<T>{out, index});
}

template <typename T>
void max_reduce_backward(const T* grad_out, const int64_t* index, const StridedLayout& outer,
                         const StridedLayout& reduced, T* grad_in) {
  const int64_t n = layout_numel(outer);
#pragma omp parallel for if (n > kParallelWork) schedule(static)
  for (int64_t o = 0; o < n; ++o)
    grad_in[outer.offset_of(o) + reduced.offset_of(index[o])] = grad_out[o];
}

#define KILN_INSTANTIATE_REDUCE(T)                                                                 \
  template void sum_reduce<T>(const T*, const StridedLayout&, const StridedLayout&, T*, double);   \
  template void max_reduce<T>(const T*, const StridedLayout&, const StridedLayout&, T*, int64_t*); \
  template void max_reduce_backward<T>(const T*, const int64_t*, const StridedLayout&,             \
                                       const StridedLayout&, T*);
KILN_INSTANTIATE_REDUCE(float)
KILN_INSTANTIATE_REDUCE(double)

}  // namespace kiln::kernels::cpu
