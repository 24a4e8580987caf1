#include "train/mfu.h"

#include <array>
#include <string_view>

namespace kiln::train {
namespace {

// Datasheet dense peaks in TFLOP/s. Names are matched by substring, most specific first (the
// driver says e.g. "NVIDIA H100 80GB HBM3" for SXM and "NVIDIA H100 PCIe").
struct Peak {
  std::string_view name;
  double bf16;  // also f16
  double tf32;
  double f32;
};
constexpr std::array<Peak, 5> kPeaks = {{
    {"H200", 989.4, 494.7, 66.9},  // also GH200
    {"H100 PCIe", 756.0, 378.0, 51.2},
    {"H100", 989.4, 494.7, 66.9},  // SXM (HBM3)
    {"A100", 312.0, 156.0, 19.5},
    {"L40S", 362.1, 183.0, 91.6},
}};

}  // namespace

double training_flops_per_token(const models::LMShape& shape, int64_t parameter_count,
                                int64_t seq_len) {
  return 6.0 * static_cast<double>(parameter_count) +
         12.0 * static_cast<double>(shape.n_layer * shape.n_head * shape.head_dim * seq_len);
}

std::optional<double> peak_flops(const std::string& device_name, DType dtype, bool tf32) {
  for (const Peak& p : kPeaks) {
    if (device_name.find(p.name) == std::string::npos) continue;
    switch (dtype) {
      case DType::bf16:
      case DType::f16:
        return p.bf16 * 1e12;
      case DType::f32:
        return (tf32 ? p.tf32 : p.f32) * 1e12;
      default:
        return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace kiln::train
