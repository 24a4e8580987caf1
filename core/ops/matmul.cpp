#include "core/ops/matmul.h"

#include <algorithm>
#include <atomic>
#include <limits>
#include <optional>

#include "core/autograd.h"
#include "core/backend/matmul.h"
#include "core/backend/on_device.h"
#include "core/ops/common.h"
#include "core/ops/reduce.h"

namespace kiln {
namespace {

using backend::MatmulBackend;

std::atomic<bool> tf32_allowed{false};

// A matrix as CBLAS reads it: the tensor whose data pointer is passed (the input itself, or a
// contiguous copy when its strides fit no BLAS layout), whether it is stored transposed
// (column-major, passed as a transpose flag) and its leading dimension.
struct BlasMatrix {
  Tensor base;
  bool transposed = false;
  int64_t ld = 1;
};

void check_blas_size(std::string_view op, const Tensor& t, int64_t ld) {
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  KILN_CHECK(ld <= kMax && std::all_of(t.shape().begin(), t.shape().end(),
                                       [](int64_t s) { return s <= kMax; }),
             op, "operand of shape {} (leading dim {}) is too large for 32-bit BLAS indices",
             shape_str(t.shape()), ld);
}

// The last two dims of `t` as a BLAS matrix; batch dims keep base's strides.
BlasMatrix blas_matrix(std::string_view op, const Tensor& t) {
  const int64_t rows = t.size(-2), cols = t.size(-1);
  const int64_t row_stride = t.strides()[t.dim() - 2], col_stride = t.strides()[t.dim() - 1];
  BlasMatrix m{t, false, std::max<int64_t>(1, cols)};
  if ((cols == 1 || col_stride == 1) && (rows == 1 || row_stride >= std::max<int64_t>(1, cols))) {
    if (rows > 1) m.ld = row_stride;
  } else if ((rows == 1 || row_stride == 1) &&
             (cols == 1 || col_stride >= std::max<int64_t>(1, rows))) {
    m.transposed = true;
    m.ld = cols == 1 ? std::max<int64_t>(1, rows) : col_stride;
  } else {
    m.base = t.detach().contiguous();
  }
  check_blas_size(op, m.base, m.ld);
  return m;
}

// The row stride that reads `t` [..., C] as one row-major [R, C] matrix (R the product of the
// leading dims) without a copy, when its leading dims fold into one stride: contiguous tensors,
// and slices of the last dim such as q, k or v cut from a fused projection.
std::optional<int64_t> folded_row_stride(const Tensor& t) {
  const int64_t cols = t.size(-1);
  if (cols != 1 && t.strides().back() != 1) return std::nullopt;
  const Shape lead_shape(t.shape().begin(), t.shape().end() - 1);
  const Shape lead_strides(t.strides().begin(), t.strides().end() - 1);
  const kernels::StridedLayout lead = strided_layout(lead_shape, lead_strides);
  const int64_t min_ld = std::max<int64_t>(1, cols);
  if (lead.ndim == 0) return min_ld;
  if (lead.ndim == 1 && lead.strides[0] >= min_ld) return lead.strides[0];
  return std::nullopt;
}

// `t` [..., C] as one [R, C] BLAS matrix, copied only when its rows do not fold; a 2-D `t` may
// also be stored transposed.
BlasMatrix blas_rows(std::string_view op, const Tensor& t) {
  if (t.dim() == 2) return blas_matrix(op, t);
  BlasMatrix m{t, false, std::max<int64_t>(1, t.size(-1))};
  if (const auto ld = folded_row_stride(t))
    m.ld = *ld;
  else
    m.base = t.detach().contiguous();
  check_blas_size(op, m.base, m.ld);
  return m;
}

int64_t leading_rows(const Tensor& t) {
  int64_t rows = 1;
  for (int64_t d = 0; d + 1 < t.dim(); ++d) rows *= t.shape()[static_cast<size_t>(d)];
  return rows;
}

// x [..., p] folded into rows, times op(w) [p, q] (w 2-D, transposed when transpose_w), plus an
// optional bias [q]: [..., q].
Tensor rows_times(std::string_view op, const Tensor& x, const Tensor& w, bool transpose_w,
                  const Tensor* bias) {
  const BlasMatrix mx = blas_rows(op, x);
  const BlasMatrix mw = blas_matrix(op, w);
  const int64_t rows = leading_rows(x), p = x.size(-1);
  const int64_t q = transpose_w ? w.size(0) : w.size(1);
  Shape shape(x.shape().begin(), x.shape().end() - 1);
  shape.push_back(q);
  Tensor out = empty(shape, TensorOptions{x.dtype(), x.device()});
  on_device(op, x.device(), &MatmulBackend::gemm, mx.transposed, transpose_w != mw.transposed, rows,
            q, p, mx.base, mx.ld, mw.base, mw.ld, bias != nullptr ? *bias : Tensor(), out);
  return out;
}

// (x as [R, p])ᵀ · (y as [R, q]): [p, q], the weight gradient of a product over rows.
Tensor rows_t_rows(std::string_view op, const Tensor& x, const Tensor& y) {
  const BlasMatrix mx = blas_rows(op, x);
  const BlasMatrix my = blas_rows(op, y);
  const int64_t rows = leading_rows(x), p = x.size(-1), q = y.size(-1);
  Tensor out = empty({p, q}, TensorOptions{x.dtype(), x.device()});
  on_device(op, x.device(), &MatmulBackend::gemm, !mx.transposed, my.transposed, p, q, rows,
            mx.base, mx.ld, my.base, my.ld, Tensor(), out);
  return out;
}

// Σ over the leading dims of g [..., q]: [q].
Tensor sum_leading(std::string_view op, const Tensor& g) {
  const BlasMatrix mg = blas_rows(op, g);
  const int64_t q = g.size(-1);
  Tensor out = empty({q}, TensorOptions{g.dtype(), g.device()});
  // A 2-D gradient stored transposed is rare (it would come from a transpose op); copy it.
  const Tensor base = mg.transposed ? g.detach().contiguous() : mg.base;
  const int64_t ld = mg.transposed ? std::max<int64_t>(1, q) : mg.ld;
  on_device(op, g.device(), &MatmulBackend::sum_rows, base, leading_rows(g), q, ld, out);
  return out;
}

// The strides that read `t`'s batch dims (all but the last two) broadcast to `batch`.
kernels::StridedLayout batch_layout(const Tensor& t, const Shape& batch) {
  const int64_t t_batch = t.dim() - 2;
  const int64_t lead = static_cast<int64_t>(batch.size()) - t_batch;
  Shape strides(batch.size(), 0);
  for (int64_t d = 0; d < t_batch; ++d) {
    const auto i = static_cast<size_t>(d);
    strides[static_cast<size_t>(lead + d)] = t.shape()[i] == 1 ? 0 : t.strides()[i];
  }
  return strided_layout(batch, strides);
}

Tensor matmul_forward(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  constexpr std::string_view op = "matmul";
  const int64_t m = transpose_a ? a.size(-1) : a.size(-2);
  const int64_t k = transpose_a ? a.size(-2) : a.size(-1);
  const int64_t n = transpose_b ? b.size(-2) : b.size(-1);
  // b without batch dims and a whose batch folds into its rows: one large product.
  if (b.dim() == 2 && a.dim() > 2 && !transpose_a && folded_row_stride(a))
    return rows_times(op, a, b, transpose_b, nullptr);
  const Shape batch = broadcast_shapes(Shape(a.shape().begin(), a.shape().end() - 2),
                                       Shape(b.shape().begin(), b.shape().end() - 2), op);
  Shape shape = batch;
  shape.push_back(m);
  shape.push_back(n);
  Tensor out = empty(shape, TensorOptions{a.dtype(), a.device()});
  const BlasMatrix ma = blas_matrix(op, a);
  const BlasMatrix mb = blas_matrix(op, b);
  on_device(op, a.device(), &MatmulBackend::gemm_batched, shape_numel(batch),
            transpose_a != ma.transposed, transpose_b != mb.transposed, m, n, k, ma.base,
            batch_layout(ma.base, batch), ma.ld, mb.base, batch_layout(mb.base, batch), mb.ld, out);
  return out;
}

// A product's gradient summed over the batch dims its operand was broadcast along.
Tensor unbroadcast(const Tensor& grad, const Shape& shape) {
  return grad.shape() == shape ? grad : sum_to(grad, shape);
}

std::vector<Tensor> matmul_backward(const Tensor& a, const Tensor& b, bool transpose_a,
                                    bool transpose_b, const Tensor& g,
                                    const std::vector<bool>& needs) {
  Tensor da, db;
  if (b.dim() == 2 && a.dim() > 2 && !transpose_a) {
    // The batch folds into the rows, as in the forward: one product per gradient.
    if (needs[0]) da = rows_times("matmul", g, b, !transpose_b, nullptr);
    if (needs[1]) db = transpose_b ? rows_t_rows("matmul", g, a) : rows_t_rows("matmul", a, g);
    return {da, db};
  }
  // With c = op(a)·op(b): d op(a) = g·op(b)ᵀ and d op(b) = op(a)ᵀ·g, transposed back when the
  // operand was used transposed.
  if (needs[0]) {
    da = transpose_a ? matmul_forward(b, g, transpose_b, true)
                     : matmul_forward(g, b, false, !transpose_b);
    da = unbroadcast(da, a.shape());
  }
  if (needs[1]) {
    db = transpose_b ? matmul_forward(g, a, true, transpose_a)
                     : matmul_forward(a, g, !transpose_a, false);
    db = unbroadcast(db, b.shape());
  }
  return {da, db};
}

std::vector<Tensor> linear_backward(const Tensor& x, const Tensor& weight, const Tensor& g,
                                    const std::vector<bool>& needs) {
  Tensor dx, dw, db;
  if (needs[0]) dx = rows_times("linear", g, weight, false, nullptr);
  if (needs[1]) dw = rows_t_rows("linear", g, x);
  if (needs[2]) db = sum_leading("linear", g);
  return {dx, dw, db};
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  constexpr std::string_view op = "matmul";
  KILN_CHECK(a.defined() && b.defined(), op, "operand is an undefined tensor");
  KILN_CHECK(a.dim() >= 2, op, "a has shape {}, expected at least 2 dims (unsqueeze a vector)",
             shape_str(a.shape()));
  KILN_CHECK(b.dim() >= 2, op, "b has shape {}, expected at least 2 dims (unsqueeze a vector)",
             shape_str(b.shape()));
  check_floating(op, "a", a);
  check_same_dtype(op, "b", b, a);
  check_same_device(op, {a, b});
  const int64_t ka = transpose_a ? a.size(-2) : a.size(-1);
  const int64_t kb = transpose_b ? b.size(-1) : b.size(-2);
  KILN_CHECK(ka == kb, op, "a {}{} and b {}{} have inner dims {} and {}, expected them equal",
             shape_str(a.shape()), transpose_a ? " (transposed)" : "", shape_str(b.shape()),
             transpose_b ? " (transposed)" : "", ka, kb);

  Tensor out = matmul_forward(a, b, transpose_a, transpose_b);
  record("matmul", out, {a, b},
         [a, b, transpose_a, transpose_b](const Tensor& g, const std::vector<bool>& needs) {
           return matmul_backward(a, b, transpose_a, transpose_b, g, needs);
         });
  return out;
}

Tensor linear(const Tensor& x, const Tensor& weight, const std::optional<Tensor>& bias) {
  constexpr std::string_view op = "linear";
  KILN_CHECK(x.defined() && weight.defined(), op, "input or weight is an undefined tensor");
  KILN_CHECK(x.dim() >= 1, op, "input has shape {}, expected at least 1 dim", shape_str(x.shape()));
  check_floating(op, "input", x);
  check_dim(op, "weight", weight, 2);
  check_same_dtype(op, "weight", weight, x);
  KILN_CHECK(weight.size(1) == x.size(-1), op,
             "weight has shape {}, expected [out, {}] (last dim of input {})",
             shape_str(weight.shape()), x.size(-1), shape_str(x.shape()));
  const Tensor b = bias.has_value() ? *bias : Tensor();
  if (b.defined()) {
    check_same_dtype(op, "bias", b, x);
    KILN_CHECK(b.shape() == Shape{weight.size(0)}, op,
               "bias has shape {}, expected [{}] (first dim of weight {})", shape_str(b.shape()),
               weight.size(0), shape_str(weight.shape()));
  }
  check_same_device(op, {x, weight, b});

  Tensor out = rows_times(op, x, weight, true, b.defined() ? &b : nullptr);
  record("linear", out, {x, weight, b},
         [x, weight](const Tensor& g, const std::vector<bool>& needs) {
           return linear_backward(x, weight, g, needs);
         });
  return out;
}

void set_allow_tf32(bool allow) {
  tf32_allowed.store(allow, std::memory_order_relaxed);
}

bool allow_tf32() {
  return tf32_allowed.load(std::memory_order_relaxed);
}

}  // namespace kiln
