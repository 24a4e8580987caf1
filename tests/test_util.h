#pragma once
// Small helpers the test files share (header-only: every test folder is its own binary).
#include <fmt/format.h>

#include <cstdint>
#include <string>

#include "core/random.h"
#include "core/tensor.h"

namespace kiln::testing {

// "_2_3_7" for [2, 3, 7]: a shape as part of a test-case name.
inline std::string shape_name(const Shape& shape) {
  std::string name;
  for (const int64_t s : shape) name += fmt::format("_{}", s);
  return name;
}

// A CPU tensor uniform in [low, high) from its own generator, so each call site's values are
// fixed by its seed.
inline Tensor random_tensor(const Shape& shape, uint64_t seed, DType dtype = DType::f32,
                            double low = -1.0, double high = 1.0) {
  Generator gen(seed);
  return rand(shape, TensorOptions{dtype}, &gen, low, high);
}

}  // namespace kiln::testing
