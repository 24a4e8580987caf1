#pragma once
// 16-byte packs for memory-bound kernels: a thread that moves 16 bytes per load (float4, 8 x
// bf16) issues a quarter of the memory instructions of one that moves an element, which is
// what lets elementwise kernels reach copy bandwidth. A pointer can only be read as packs when
// it is aligned to the pack, so launchers check and fall back to N = 1.
#include <cstdint>

namespace kiln::kernels::cuda {

template <typename T, int N>
struct alignas(sizeof(T) * N) Pack {
  T v[N];
};

// Elements of T per 16-byte pack.
template <typename T>
constexpr int kPackSize = 16 / sizeof(T) > 0 ? static_cast<int>(16 / sizeof(T)) : 1;

template <int N, typename T>
__device__ inline Pack<T, N> load_pack(const T* p) {
  return *reinterpret_cast<const Pack<T, N>*>(p);
}

template <int N, typename T>
__device__ inline void store_pack(T* p, const Pack<T, N>& pack) {
  *reinterpret_cast<Pack<T, N>*>(p) = pack;
}

inline bool aligned_to(const void* p, int64_t bytes) {
  return reinterpret_cast<uintptr_t>(p) % static_cast<uintptr_t>(bytes) == 0;
}

__device__ inline int64_t global_thread() {
  return blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
}

__device__ inline int64_t grid_threads() {
  return static_cast<int64_t>(gridDim.x) * blockDim.x;
}

}  // namespace kiln::kernels::cuda
