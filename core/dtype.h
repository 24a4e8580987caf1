#pragma once
// Element types. f64 exists for gradient checks on the CPU; bf16/f16 are storage types on the
// CPU (conversion only) and compute types on CUDA.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "kernels/numeric_types.h"

namespace kiln {

enum class DType : uint8_t { f32, f64, bf16, f16, i32, i64, u8, boolean };

size_t dtype_size(DType dtype);
std::string_view dtype_name(DType dtype);
// Parses "f32", "float32", "bf16", ... ; throws kiln::Error on an unknown name.
DType parse_dtype(std::string_view name);
bool is_floating(DType dtype);
bool is_integral(DType dtype);  // i32, i64, u8, bool

// The DType of a C++ element type.
template <typename T>
constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::f32; }
template <> constexpr DType dtype_of<double>() { return DType::f64; }
template <> constexpr DType dtype_of<bf16>() { return DType::bf16; }
template <> constexpr DType dtype_of<f16>() { return DType::f16; }
template <> constexpr DType dtype_of<int32_t>() { return DType::i32; }
template <> constexpr DType dtype_of<int64_t>() { return DType::i64; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::u8; }
template <> constexpr DType dtype_of<bool>() { return DType::boolean; }

}  // namespace kiln
