#include "core/ops/elementwise.h"

#include <cmath>

#include "core/autograd.h"
#include "core/backend/elementwise.h"
#include "core/backend/on_device.h"
#include "core/ops/common.h"
#include "core/ops/reduce.h"

namespace kiln {

using backend::ElementwiseBackend;
using kernels::BinaryOp;
using kernels::CompareOp;
using kernels::UnaryOp;

namespace {

Shape check_binary(std::string_view op, const Tensor& a, const Tensor& b) {
  check_same_device(op, {a, b});
  check_same_dtype(op, "second operand", b, a);
  return broadcast_shapes(a.shape(), b.shape(), op);
}

Tensor binary_forward(std::string_view op, BinaryOp kind, const Tensor& a, const Tensor& b) {
  const Shape shape = check_binary(op, a, b);
  Tensor out = empty(shape, TensorOptions{a.dtype(), a.device()});
  on_device(op, a.device(), &ElementwiseBackend::binary, kind, a, broadcast_layout(a, shape), b,
            broadcast_layout(b, shape), out);
  return out;
}

// A 0-dim tensor holding `value` in the dtype and device of `like`.
Tensor scalar_like(double value, const Tensor& like) {
  return full({}, value, TensorOptions{like.dtype(), like.device()});
}

// The gradient of a unary map, from its input and output (sigmoid and tanh use the output).
std::vector<Tensor> unary_backward(std::string_view op, UnaryOp kind, const Tensor& x,
                                   const Tensor& out, const Tensor& grad) {
  const Tensor dx = empty(x.shape(), TensorOptions{x.dtype(), x.device()});
  on_device(op, x.device(), &ElementwiseBackend::unary_backward, kind, x.contiguous(), out,
            grad.contiguous(), dx);
  return {dx};
}

Tensor unary_op(std::string_view op, UnaryOp kind, const Tensor& x) {
  Tensor out = empty(x.shape(), TensorOptions{x.dtype(), x.device()});
  on_device(op, x.device(), &ElementwiseBackend::unary, kind, x, out);
  record(std::string(op), out, {x},
         [op, kind, x, saved_out = out.detach()](const Tensor& g, const std::vector<bool>&) {
           return unary_backward(op, kind, x, saved_out, g);
         });
  return out;
}

Tensor compare_op(std::string_view op, CompareOp kind, const Tensor& a, const Tensor& b) {
  const Shape shape = check_binary(op, a, b);
  Tensor out = empty(shape, TensorOptions{DType::boolean, a.device()});
  on_device(op, a.device(), &ElementwiseBackend::compare, kind, a, broadcast_layout(a, shape), b,
            broadcast_layout(b, shape), out);
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward("add", BinaryOp::add, a, b);
  record("add", out, {a, b}, [a, b](const Tensor& g, const std::vector<bool>& needs) {
    return std::vector<Tensor>{needs[0] ? sum_to(g, a.shape()) : Tensor(),
                               needs[1] ? sum_to(g, b.shape()) : Tensor()};
  });
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward("sub", BinaryOp::sub, a, b);
  record("sub", out, {a, b}, [a, b](const Tensor& g, const std::vector<bool>& needs) {
    return std::vector<Tensor>{needs[0] ? sum_to(g, a.shape()) : Tensor(),
                               needs[1] ? sum_to(neg(g), b.shape()) : Tensor()};
  });
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward("mul", BinaryOp::mul, a, b);
  record("mul", out, {a, b}, [a, b](const Tensor& g, const std::vector<bool>& needs) {
    return std::vector<Tensor>{needs[0] ? sum_to(mul(g, b), a.shape()) : Tensor(),
                               needs[1] ? sum_to(mul(g, a), b.shape()) : Tensor()};
  });
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward("div", BinaryOp::div, a, b);
  record("div", out, {a, b}, [a, b](const Tensor& g, const std::vector<bool>& needs) {
    const Tensor g_over_b = div(g, b);
    return std::vector<Tensor>{
        needs[0] ? sum_to(g_over_b, a.shape()) : Tensor(),
        needs[1] ? sum_to(neg(mul(g_over_b, div(a, b))), b.shape()) : Tensor()};
  });
  return out;
}

Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward("pow", BinaryOp::pow, a, b);
  const Tensor saved_out = out.detach();
  record("pow", out, {a, b}, [a, b, saved_out](const Tensor& g, const std::vector<bool>& needs) {
    // d/da a^b = b a^(b-1); d/db a^b = a^b log a (only meaningful for a > 0).
    return std::vector<Tensor>{
        needs[0] ? sum_to(mul(g, mul(b, pow(a, sub(b, 1.0)))), a.shape()) : Tensor(),
        needs[1] ? sum_to(mul(g, mul(saved_out, log(a))), b.shape()) : Tensor()};
  });
  return out;
}

namespace {

// maximum/minimum: the gradient goes to the operand that was chosen (the first one on ties).
Tensor select_extreme(std::string_view op, BinaryOp kind, const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(op, kind, a, b);
  const bool is_max = kind == BinaryOp::maximum;
  record(std::string(op), out, {a, b},
         [a, b, is_max](const Tensor& g, const std::vector<bool>& needs) {
           const Tensor a_chosen = (is_max ? ge(a, b) : le(a, b)).to(g.dtype());
           return std::vector<Tensor>{
               needs[0] ? sum_to(mul(g, a_chosen), a.shape()) : Tensor(),
               needs[1] ? sum_to(mul(g, sub(1.0, a_chosen)), b.shape()) : Tensor()};
         });
  return out;
}

}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) {
  return select_extreme("maximum", BinaryOp::maximum, a, b);
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  return select_extreme("minimum", BinaryOp::minimum, a, b);
}

Tensor add(const Tensor& a, double b) {
  return add(a, scalar_like(b, a));
}
Tensor sub(const Tensor& a, double b) {
  return sub(a, scalar_like(b, a));
}
Tensor sub(double a, const Tensor& b) {
  return sub(scalar_like(a, b), b);
}
Tensor mul(const Tensor& a, double b) {
  return mul(a, scalar_like(b, a));
}
Tensor div(const Tensor& a, double b) {
  return div(a, scalar_like(b, a));
}
Tensor div(double a, const Tensor& b) {
  return div(scalar_like(a, b), b);
}
Tensor pow(const Tensor& a, double exponent) {
  return pow(a, scalar_like(exponent, a));
}

Tensor neg(const Tensor& x) {
  return unary_op("neg", UnaryOp::neg, x);
}
Tensor exp(const Tensor& x) {
  return unary_op("exp", UnaryOp::exp, x);
}
Tensor log(const Tensor& x) {
  return unary_op("log", UnaryOp::log, x);
}
Tensor sqrt(const Tensor& x) {
  return unary_op("sqrt", UnaryOp::sqrt, x);
}
Tensor tanh(const Tensor& x) {
  return unary_op("tanh", UnaryOp::tanh, x);
}
Tensor sigmoid(const Tensor& x) {
  return unary_op("sigmoid", UnaryOp::sigmoid, x);
}
Tensor relu(const Tensor& x) {
  return unary_op("relu", UnaryOp::relu, x);
}
Tensor gelu(const Tensor& x) {
  return unary_op("gelu", UnaryOp::gelu, x);
}
Tensor silu(const Tensor& x) {
  return unary_op("silu", UnaryOp::silu, x);
}
Tensor abs(const Tensor& x) {
  return unary_op("abs", UnaryOp::abs, x);
}

Tensor eq(const Tensor& a, const Tensor& b) {
  return compare_op("eq", CompareOp::eq, a, b);
}
Tensor ne(const Tensor& a, const Tensor& b) {
  return compare_op("ne", CompareOp::ne, a, b);
}
Tensor lt(const Tensor& a, const Tensor& b) {
  return compare_op("lt", CompareOp::lt, a, b);
}
Tensor le(const Tensor& a, const Tensor& b) {
  return compare_op("le", CompareOp::le, a, b);
}
Tensor gt(const Tensor& a, const Tensor& b) {
  return compare_op("gt", CompareOp::gt, a, b);
}
Tensor ge(const Tensor& a, const Tensor& b) {
  return compare_op("ge", CompareOp::ge, a, b);
}

}  // namespace kiln
