#include "models/rotary.h"

#include <cmath>
#include <numbers>

#include "core/error.h"

namespace kiln::models {

void RopeScaling::validate() const {
  KILN_CHECK(type == "none" || type == "linear" || type == "llama3", "config",
             "rope_scaling type '{}' is not supported, expected linear or llama3", type);
  if (type == "none") return;
  KILN_CHECK(factor > 0.0, "config", "rope_scaling factor must be positive, got {}", factor);
  if (type != "llama3") return;
  KILN_CHECK(low_freq_factor > 0.0 && high_freq_factor > low_freq_factor, "config",
             "rope_scaling needs 0 < low_freq_factor < high_freq_factor, got {} and {}",
             low_freq_factor, high_freq_factor);
  KILN_CHECK(original_max_position_embeddings > 0, "config",
             "rope_scaling original_max_position_embeddings must be positive, got {}",
             original_max_position_embeddings);
}

std::vector<double> rope_inverse_frequencies(int64_t head_dim, double theta,
                                             const RopeScaling& scaling) {
  std::vector<double> inv_freq;
  for (int64_t i = 0; i < head_dim / 2; ++i)
    inv_freq.push_back(1.0 /
                       std::pow(theta, static_cast<double>(2 * i) / static_cast<double>(head_dim)));
  if (scaling.type == "linear") {
    for (double& f : inv_freq) f /= scaling.factor;
  } else if (scaling.type == "llama3") {
    // Wavelengths shorter than context / high_freq_factor keep their frequency, longer than
    // context / low_freq_factor are slowed by `factor`, and those between interpolate.
    const double context = static_cast<double>(scaling.original_max_position_embeddings);
    const double low_freq_wavelen = context / scaling.low_freq_factor;
    const double high_freq_wavelen = context / scaling.high_freq_factor;
    for (double& f : inv_freq) {
      const double wavelen = 2.0 * std::numbers::pi / f;
      if (wavelen > low_freq_wavelen) {
        f /= scaling.factor;
      } else if (wavelen >= high_freq_wavelen) {
        const double smooth = (context / wavelen - scaling.low_freq_factor) /
                              (scaling.high_freq_factor - scaling.low_freq_factor);
        f = (1.0 - smooth) * f / scaling.factor + smooth * f;
      }
    }
  }
  return inv_freq;
}

}  // namespace kiln::models
