#pragma once
// Choosing the next token from a row of logits: greedy, or sampling with temperature, top-k
// and top-p (nucleus), as in the course's text-generation exercises.
#include <cstdint>
#include <span>

#include "core/random.h"

namespace kiln::infer {

struct SamplingOptions {
  bool greedy = false;
  double temperature = 1.0;  // > 0; logits are divided by it
  int64_t top_k = 0;         // 0: no limit
  double top_p = 1.0;        // (0, 1]: the smallest set whose probability reaches top_p

  // Throws naming the option when a value is out of range.
  void validate() const;
};

// Greedy takes the first maximal logit. Otherwise: temperature, then top-k, then top-p on the
// renormalised distribution, then one uniform draw from `gen`. The token returned is always
// inside the kept set (at least the most likely token is kept).
int64_t sample_token(std::span<const float> logits, const SamplingOptions& options, Generator& gen);

}  // namespace kiln::infer
