#pragma once
// Element conversion between every kiln element type, through float for the 16-bit formats.
#include <type_traits>

#include "kernels/numeric_types.h"

namespace kiln::kernels::cpu {

template <typename Dst, typename Src>
inline Dst convert(Src value) {
  if constexpr (std::is_same_v<Src, Dst>) {
    return value;
  } else if constexpr (std::is_same_v<Src, bf16> || std::is_same_v<Src, f16>) {
    return convert<Dst>(static_cast<float>(value));
  } else if constexpr (std::is_same_v<Dst, bf16> || std::is_same_v<Dst, f16>) {
    return Dst(static_cast<float>(value));
  } else if constexpr (std::is_same_v<Dst, bool>) {
    return value != Src(0);
  } else {
    return static_cast<Dst>(value);
  }
}

}  // namespace kiln::kernels::cpu
