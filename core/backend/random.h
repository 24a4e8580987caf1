#pragma once
// Philox draws on each device (see core/backend/on_device.h) into a contiguous `out`, counters
// first..first + numel - 1 of `seed`; the devices compute the same numbers. On CUDA, uniform and
// normal draw f32 and randint i64; on the CPU, f32 or f64 and i64.
#include <cstdint>
#include <string_view>

#include "core/tensor.h"

namespace kiln::backend {

struct RandomBackend {
  void (*uniform)(std::string_view op, const Tensor& out, uint64_t seed, uint64_t first, double low,
                  double high);
  void (*normal)(std::string_view op, const Tensor& out, uint64_t seed, uint64_t first, double mean,
                 double std);
  void (*randint)(std::string_view op, const Tensor& out, uint64_t seed, uint64_t first,
                  int64_t low, int64_t high);

  static const RandomBackend& cpu();
  static const RandomBackend& cuda();
};

}  // namespace kiln::backend
