#pragma once
// Device-side element conversion between kiln's element types; the 16-bit formats go through
// float with the hardware conversions (round to nearest even).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <type_traits>

#include "kernels/numeric_types.h"

namespace kiln::kernels::cuda {

template <typename T>
__device__ inline float to_float(T v) {
  if constexpr (std::is_same_v<T, bf16>) {
    return __bfloat162float(__ushort_as_bfloat16(v.bits));
  } else if constexpr (std::is_same_v<T, f16>) {
    return __half2float(__ushort_as_half(v.bits));
  } else {
    return static_cast<float>(v);
  }
}

template <typename Dst, typename Src>
__device__ inline Dst convert(Src v) {
  if constexpr (std::is_same_v<Src, Dst>) {
    return v;
  } else if constexpr (std::is_same_v<Src, bf16> || std::is_same_v<Src, f16>) {
    return convert<Dst>(to_float(v));
  } else if constexpr (std::is_same_v<Dst, bf16>) {
    bf16 out;
    out.bits = __bfloat16_as_ushort(__float2bfloat16_rn(static_cast<float>(v)));
    return out;
  } else if constexpr (std::is_same_v<Dst, f16>) {
    f16 out;
    out.bits = __half_as_ushort(__float2half_rn(static_cast<float>(v)));
    return out;
  } else if constexpr (std::is_same_v<Dst, bool>) {
    return v != Src(0);
  } else {
    return static_cast<Dst>(v);
  }
}

}  // namespace kiln::kernels::cuda
