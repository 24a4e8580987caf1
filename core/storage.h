#pragma once
// A block of memory on one device, shared by every tensor view of it.
#include <cstddef>
#include <memory>

#include "core/device.h"

namespace kiln {

class Storage {
 public:
  // Allocates `nbytes` on `device`: 64-byte aligned host memory, or the device's CUDA pool.
  Storage(size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  void* host_block_ = nullptr;  // what malloc returned; data_ is it rounded up to 64 bytes
  size_t nbytes_ = 0;
  Device device_;
};

}  // namespace kiln
