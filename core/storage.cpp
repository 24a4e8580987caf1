#include "core/storage.h"

#include <malloc.h>

#include <cstdint>
#include <cstdlib>
#include <mutex>

#include "core/error.h"

#ifdef KILN_CUDA
#include "core/cuda/runtime.h"
#endif

namespace kiln {

namespace {

constexpr size_t kHostAlignment = 64;  // a cache line, and enough for any SIMD load

// glibc serves large blocks (above its mmap threshold, at most 32 MB) with a fresh mmap and
// unmaps them on free, so every large activation of every step is page-faulted in again
// (measured: ~140 ms to create and fill a 64 MB tensor). Serving them from the heap and not
// trimming it lets freed memory be reused directly, which is what a training loop that
// allocates the same shapes each step needs.
void keep_large_blocks_in_heap() {
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
  });
}

}  // namespace

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  check_device_usable(device, "storage");
  if (device.is_cpu()) {
    keep_large_blocks_in_heap();
    // malloc + manual alignment rather than aligned_alloc: glibc's memalign asks for more than
    // it returns, so a freed block never fits the next request of the same size and the heap
    // grows by every large tensor instead of reusing it.
    host_block_ = std::malloc(nbytes + kHostAlignment);
    KILN_CHECK(host_block_ != nullptr, "storage", "out of host memory: requested {} bytes", nbytes);
    const auto address = reinterpret_cast<uintptr_t>(host_block_);
    data_ =
        reinterpret_cast<void*>((address + kHostAlignment - 1) / kHostAlignment * kHostAlignment);
    return;
  }
#ifdef KILN_CUDA
  if (nbytes > 0) data_ = cuda::allocate(nbytes, device.index);
#endif
}

Storage::~Storage() {
  if (device_.is_cpu()) {
    std::free(host_block_);
    return;
  }
#ifdef KILN_CUDA
  if (data_ != nullptr) cuda::deallocate(data_, device_.index);
#endif
}

}  // namespace kiln
