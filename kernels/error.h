#pragma once
// kiln's one exception type, kiln::Error, defined at the bottom layer so that every layer throws
// the same type (core/error.h adds the checks that raise it). Messages name the op, or the API
// that failed, in brackets: "[layer_norm] weight has shape [768], expected [1024] (...)".
#include <stdexcept>
#include <string>
#include <utility>

namespace kiln {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

namespace kernels {

// A failure below an op: a CUDA, cuBLAS, cuDNN or NCCL call (`api` "cuda", "cublas", ...), or a
// size a launcher cannot serve. Where it escapes on its own it reads "[api] detail"; the ops'
// device dispatch (core/backend/on_device.h) rethrows it as "[op] api: detail", or as
// "[op] detail" when `api` is empty.
class KernelError : public Error {
 public:
  KernelError(std::string api, std::string detail)
      : Error(api.empty() ? detail : "[" + api + "] " + detail),
        api_(std::move(api)),
        detail_(std::move(detail)) {}
  const std::string& api() const { return api_; }
  const std::string& detail() const { return detail_; }

 private:
  std::string api_;
  std::string detail_;
};

}  // namespace kernels
}  // namespace kiln
