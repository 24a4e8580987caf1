#include "infer/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "kernels/philox.h"

namespace kiln::infer {

void SamplingOptions::validate() const {
  KILN_CHECK(temperature > 0.0 && std::isfinite(temperature), "sampling",
             "temperature must be positive, got {}", temperature);
  KILN_CHECK(top_k >= 0, "sampling", "top_k must be >= 0, got {}", top_k);
  KILN_CHECK(top_p > 0.0 && top_p <= 1.0, "sampling", "top_p must be in (0, 1], got {}", top_p);
}

int64_t sample_token(std::span<const float> logits, const SamplingOptions& options,
                     Generator& gen) {
  KILN_CHECK(!logits.empty(), "sampling", "empty logits");
  if (options.greedy) {
    return std::max_element(logits.begin(), logits.end()) - logits.begin();
  }
  options.validate();
  const int64_t vocab = static_cast<int64_t>(logits.size());
  // Candidates sorted by logit, most likely first; ties keep the lower id first.
  std::vector<int64_t> order(static_cast<size_t>(vocab));
  std::iota(order.begin(), order.end(), 0);
  const int64_t keep_k = options.top_k > 0 ? std::min(options.top_k, vocab) : vocab;
  auto more_likely = [&](int64_t a, int64_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  std::partial_sort(order.begin(), order.begin() + keep_k, order.end(), more_likely);
  order.resize(static_cast<size_t>(keep_k));

  const double top = logits[order[0]] / options.temperature;
  std::vector<double> probs(order.size());
  double total = 0.0;
  for (size_t i = 0; i < order.size(); ++i) {
    probs[i] = std::exp(logits[order[i]] / options.temperature - top);
    total += probs[i];
  }
  // Nucleus: the shortest prefix whose probability reaches top_p.
  size_t kept = probs.size();
  if (options.top_p < 1.0) {
    double cumulative = 0.0;
    for (size_t i = 0; i < probs.size(); ++i) {
      cumulative += probs[i] / total;
      if (cumulative >= options.top_p) {
        kept = i + 1;
        break;
      }
    }
  }
  const double kept_total =
      std::accumulate(probs.begin(), probs.begin() + static_cast<long>(kept), 0.0);
  const kernels::PhiloxOutput r = kernels::philox4x32(gen.seed(), gen.advance(1));
  const double u = kernels::uniform_from_bits(r.v[0], r.v[1]) * kept_total;
  double cumulative = 0.0;
  for (size_t i = 0; i < kept; ++i) {
    cumulative += probs[i];
    if (u < cumulative) return order[i];
  }
  return order[kept - 1];  // u within rounding of kept_total
}

}  // namespace kiln::infer
