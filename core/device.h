#pragma once
// Where a tensor lives: the host, or one CUDA device (cuda:N, CUDA builds only).
#include <string>
#include <string_view>

namespace kiln {

enum class DeviceKind { cpu, cuda };

struct Device {
  DeviceKind kind = DeviceKind::cpu;
  int index = 0;

  static Device cpu() { return {}; }
  static Device cuda(int index = 0) { return {DeviceKind::cuda, index}; }
  bool is_cpu() const { return kind == DeviceKind::cpu; }
  bool is_cuda() const { return kind == DeviceKind::cuda; }
  bool operator==(const Device&) const = default;
  std::string str() const;
};

// Parses "cpu", "cuda", "cuda:N"; throws kiln::Error on anything else, and on cuda in a
// CPU-only build.
Device parse_device(std::string_view text);

// True when this build has CUDA support compiled in.
bool cuda_compiled();
// Number of CUDA devices visible now (0 in a CPU-only build or on a machine without a GPU).
int cuda_device_count();
inline bool cuda_available() { return cuda_device_count() > 0; }
// What the hardware calls itself: the CUDA driver's name for a GPU ("NVIDIA H100 80GB HBM3"),
// "cpu" for the host.
std::string device_name(const Device& device);

// Throws a clear kiln::Error when `device` cannot be used in this build or on this machine.
void check_device_usable(const Device& device, std::string_view op);

}  // namespace kiln
