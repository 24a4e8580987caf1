#pragma once
// The exception a launcher throws when the work below it fails (a CUDA launch, a cuBLASLt call,
// a shape no algorithm serves). kernels/ cannot raise kiln::Error (it does not include core/)
// and does not know which op called it; core's device dispatch (core/backend/on_device.h)
// catches this and rethrows it as kiln::Error naming the op.
#include <stdexcept>
#include <string>

namespace kiln::kernels {

class KernelError : public std::runtime_error {
 public:
  explicit KernelError(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace kiln::kernels
