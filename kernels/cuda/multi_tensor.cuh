#pragma once
// Multi-tensor launches: one kernel over a list of tensors (all of a model's parameters or
// gradients) instead of one launch per tensor. The list is cut into chunks of at most
// kChunkElements elements, one block each; the tensor descriptors and the chunk table travel to
// the device in one copy into caller-provided workspace (kernels/ does not allocate).
#include <cuda_runtime_api.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/cuda/launch.cuh"

namespace kiln::kernels::cuda {

constexpr int64_t kChunkElements = int64_t{1} << 16;

struct ChunkRef {
  int64_t tensor;  // index into the descriptor array
  int64_t start;   // first element of the chunk within that tensor
};

// Where the pieces of a multi-tensor workspace sit. Desc has an `int64_t n` member.
template <typename Desc>
struct MultiTensorLayout {
  int64_t chunks = 0;
  int64_t chunk_offset = 0;  // bytes from the start of the workspace
  int64_t extra_offset = 0;  // per-chunk scratch (extra_per_chunk bytes each)
  int64_t bytes = 0;

  MultiTensorLayout(const Desc* tensors, int64_t count, int64_t extra_per_chunk) {
    for (int64_t i = 0; i < count; ++i)
      chunks += (tensors[i].n + kChunkElements - 1) / kChunkElements;
    chunk_offset = round_up(count * static_cast<int64_t>(sizeof(Desc)));
    extra_offset = round_up(chunk_offset + chunks * static_cast<int64_t>(sizeof(ChunkRef)));
    bytes = extra_offset + chunks * extra_per_chunk;
  }

  static int64_t round_up(int64_t b) { return (b + 255) / 256 * 256; }
};

// Copies the descriptors and their chunk table into `workspace` (layout.bytes bytes, device
// memory), ordered on `stream`. From pageable memory, cudaMemcpyAsync returns once the driver
// has staged the bytes, so the host buffer may go when this returns.
template <typename Desc>
void upload_multi_tensor(const Desc* tensors, int64_t count, const MultiTensorLayout<Desc>& layout,
                         void* workspace, cudaStream_t stream) {
  std::vector<unsigned char> host(static_cast<size_t>(layout.extra_offset), 0);
  std::memcpy(host.data(), tensors, static_cast<size_t>(count) * sizeof(Desc));
  auto* refs = reinterpret_cast<ChunkRef*>(host.data() + layout.chunk_offset);
  int64_t c = 0;
  for (int64_t i = 0; i < count; ++i)
    for (int64_t start = 0; start < tensors[i].n; start += kChunkElements) refs[c++] = {i, start};
  KILN_CUDA_CHECK(
      cudaMemcpyAsync(workspace, host.data(), host.size(), cudaMemcpyHostToDevice, stream));
}

}  // namespace kiln::kernels::cuda
