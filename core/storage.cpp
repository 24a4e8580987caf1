#include "core/storage.h"

#include <cstdlib>

#include "core/error.h"

#ifdef KILN_CUDA
#include "core/cuda/runtime.h"
#endif

namespace kiln {

namespace {
constexpr size_t kHostAlignment = 64;  // a cache line, and enough for any SIMD load
}

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  check_device_usable(device, "storage");
  if (device.is_cpu()) {
    const size_t rounded = (nbytes + kHostAlignment - 1) / kHostAlignment * kHostAlignment;
    data_ = std::aligned_alloc(kHostAlignment, rounded == 0 ? kHostAlignment : rounded);
    KILN_CHECK(data_ != nullptr, "storage", "out of host memory: requested {} bytes", nbytes);
    return;
  }
#ifdef KILN_CUDA
  if (nbytes > 0) data_ = cuda::allocate(nbytes, device.index);
#endif
}

Storage::~Storage() {
  if (device_.is_cpu()) {
    std::free(data_);
    return;
  }
#ifdef KILN_CUDA
  if (data_ != nullptr) cuda::deallocate(data_, device_.index);
#endif
}

}  // namespace kiln
