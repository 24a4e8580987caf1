#pragma once
// From a runtime DType to a C++ element type: f is called with a value of that type as a tag,
// e.g. visit_float(x.dtype(), "exp", [&](auto tag) { using T = decltype(tag); ... }).
#include <string_view>

#include "core/dtype.h"
#include "core/error.h"
#include "core/tensor.h"

namespace kiln {

template <typename F>
decltype(auto) visit_dtype(DType dtype, F&& f) {
  switch (dtype) {
    case DType::f32:
      return f(float{});
    case DType::f64:
      return f(double{});
    case DType::bf16:
      return f(bf16{});
    case DType::f16:
      return f(f16{});
    case DType::i32:
      return f(int32_t{});
    case DType::i64:
      return f(int64_t{});
    case DType::u8:
      return f(uint8_t{});
    case DType::boolean:
      return f(bool{});
  }
  fail("dtype", "corrupt dtype value {}", static_cast<int>(dtype));
}

// The types CPU kernels compute in: f32, and f64 for gradient checks. bf16/f16 tensors are
// converted with .to() first on the CPU.
template <typename F>
decltype(auto) visit_float(DType dtype, std::string_view op, F&& f) {
  switch (dtype) {
    case DType::f32:
      return f(float{});
    case DType::f64:
      return f(double{});
    default:
      fail(op, "dtype {} is not supported here, expected f32 or f64 (convert with .to())",
           dtype_name(dtype));
  }
}

// The types CUDA kernels take for floating tensors: f32, and bf16/f16 stored in 16 bits and
// computed in f32 inside the kernels. f64 stays on the CPU (gradient checks).
template <typename F>
decltype(auto) visit_cuda_float(DType dtype, std::string_view op, F&& f) {
  switch (dtype) {
    case DType::f32:
      return f(float{});
    case DType::bf16:
      return f(bf16{});
    case DType::f16:
      return f(f16{});
    default:
      fail(op, "dtype {} is not supported on CUDA, expected f32, bf16 or f16", dtype_name(dtype));
  }
}

// Index tensors (embedding ids, targets, gather indices): i32 or i64.
template <typename F>
decltype(auto) visit_index(DType dtype, std::string_view op, F&& f) {
  switch (dtype) {
    case DType::i32:
      return f(int32_t{});
    case DType::i64:
      return f(int64_t{});
    default:
      fail(op, "index tensor has dtype {}, expected i32 or i64", dtype_name(dtype));
  }
}

// Arithmetic types on the CPU: floating (differentiable) and the index types.
template <typename F>
decltype(auto) visit_arithmetic(DType dtype, std::string_view op, F&& f) {
  switch (dtype) {
    case DType::i32:
      return f(int32_t{});
    case DType::i64:
      return f(int64_t{});
    default:
      return visit_float(dtype, op, f);
  }
}

// Arithmetic types on CUDA: the CUDA floating types and the index types.
template <typename F>
decltype(auto) visit_cuda_arithmetic(DType dtype, std::string_view op, F&& f) {
  switch (dtype) {
    case DType::i32:
      return f(int32_t{});
    case DType::i64:
      return f(int64_t{});
    default:
      return visit_cuda_float(dtype, op, f);
  }
}

// Masks: bool, or u8 as loaded from files (non-zero is true).
template <typename F>
decltype(auto) visit_mask(DType dtype, std::string_view op, std::string_view what, F&& f) {
  switch (dtype) {
    case DType::boolean:
      return f(bool{});
    case DType::u8:
      return f(uint8_t{});
    default:
      fail(op, "{} has dtype {}, expected bool or u8", what, dtype_name(dtype));
  }
}

// The data of an optional tensor: null when undefined (kernels take absent weights as null).
template <typename T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

}  // namespace kiln
