#include "core/device.h"

#include <charconv>

#include "core/error.h"

#ifdef KILN_CUDA
#include "core/cuda/runtime.h"
#endif

namespace kiln {

std::string Device::str() const {
  return is_cpu() ? std::string("cpu") : fmt::format("cuda:{}", index);
}

Device parse_device(std::string_view text) {
  if (text == "cpu") return Device::cpu();
  if (text.starts_with("cuda")) {
    int index = 0;
    if (text.size() > 4) {
      const std::string_view digits = text.substr(5);
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
      KILN_CHECK(text[4] == ':' && !digits.empty() && ec == std::errc() &&
                     end == digits.data() + digits.size() && index >= 0,
                 "device", "cannot parse device '{}', expected cpu, cuda or cuda:N", text);
    }
    const Device device = Device::cuda(index);
    check_device_usable(device, "device");
    return device;
  }
  fail("device", "unknown device '{}', expected cpu, cuda or cuda:N", text);
}

bool cuda_compiled() {
#ifdef KILN_CUDA
  return true;
#else
  return false;
#endif
}

int cuda_device_count() {
#ifdef KILN_CUDA
  return cuda::device_count();
#else
  return 0;
#endif
}

std::string device_name(const Device& device) {
  if (device.is_cpu()) return "cpu";
  check_device_usable(device, "device_name");
#ifdef KILN_CUDA
  return cuda::device_name(device.index);
#else
  return device.str();
#endif
}

void check_device_usable(const Device& device, std::string_view op) {
  if (device.is_cpu()) return;
  KILN_CHECK(cuda_compiled(), op,
             "device {} requested, but this kiln build has no CUDA support "
             "(configure with the cuda preset)",
             device.str());
  const int count = cuda_device_count();
  KILN_CHECK(device.index < count, op, "device {} requested, but {} CUDA device(s) are visible",
             device.str(), count);
}

}  // namespace kiln
