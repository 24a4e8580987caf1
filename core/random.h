#pragma once
// Seeded random tensors. A Generator is a (seed, offset) pair over Philox: a draw of n numbers
// uses counters offset .. offset+n-1 and advances the offset, so results do not depend on thread
// count, device or platform, and a generator's state is two integers a checkpoint can store.
#include <cstdint>

#include "core/tensor.h"

namespace kiln {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void set_state(uint64_t seed, uint64_t offset) { seed_ = seed, offset_ = offset; }
  // Reserves `count` counters and returns the first.
  uint64_t advance(uint64_t count) {
    const uint64_t first = offset_;
    offset_ += count;
    return first;
  }

 private:
  uint64_t seed_;
  uint64_t offset_ = 0;
};

// The process-wide generator used when none is passed.
Generator& default_generator();
void manual_seed(uint64_t seed);

// Uniform in [low, high).
Tensor rand(const Shape& shape, TensorOptions options = {}, Generator* generator = nullptr,
            double low = 0.0, double high = 1.0);
// Normal with the given mean and standard deviation (Box-Muller over Philox).
Tensor randn(const Shape& shape, TensorOptions options = {}, Generator* generator = nullptr,
             double mean = 0.0, double std = 1.0);
// Uniform integers in [low, high).
Tensor randint(int64_t low, int64_t high, const Shape& shape,
               TensorOptions options = TensorOptions{DType::i64},
               Generator* generator = nullptr);

}  // namespace kiln
