#pragma once
// The rotary frequencies of Llama-family models: inv_freq[i] = theta^(-2i / head_dim), optionally
// rescaled for longer contexts as transformers' rope_scaling does ("linear": positions divided by
// `factor`; "llama3": Llama 3.1's schedule, which keeps the high frequencies, divides the low ones
// by `factor` and blends the band between). The angles and the rotation are in core/ops/rope.h.
#include <cstdint>
#include <string>
#include <vector>

namespace kiln::models {

struct RopeScaling {
  std::string type = "none";  // none | linear | llama3
  double factor = 1.0;
  // llama3 only.
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;

  // Throws naming the field when a value is impossible or the type unknown.
  void validate() const;
};

// head_dim / 2 frequencies, in double.
std::vector<double> rope_inverse_frequencies(int64_t head_dim, double theta,
                                             const RopeScaling& scaling = {});

}  // namespace kiln::models
