#pragma once
// Random fills from Philox: element i uses counter (offset + i).
#include <cstdint>

namespace kiln::kernels::cpu {

template <typename T>
void uniform(T* out, int64_t n, uint64_t seed, uint64_t offset, double low, double high);
template <typename T>
void normal(T* out, int64_t n, uint64_t seed, uint64_t offset, double mean, double std);
template <typename T>
void randint(T* out, int64_t n, uint64_t seed, uint64_t offset, int64_t low, int64_t high);

}  // namespace kiln::kernels::cpu
