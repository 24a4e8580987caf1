#pragma once
// Autoregressive generation with a KV cache: the prompt is processed once (prefill), then
// each new token costs one forward step over a single position that attends to the cache.
#include <functional>
#include <optional>
#include <vector>

#include "infer/sampler.h"
#include "models/causal_lm.h"

namespace kiln::infer {

struct GenerationOptions {
  int64_t max_new_tokens = 64;
  SamplingOptions sampling;
  uint64_t seed = 0;
  std::optional<int64_t> eos_id;  // a sequence stops after producing it
  // Off: every step recomputes the whole (cropped) context; for tests and benchmarks.
  bool use_cache = true;
};

// Called with (prompt index, token id) as soon as each token is chosen: streaming output.
using TokenCallback = std::function<void(size_t, int64_t)>;

// Continues each prompt; returns the new ids of each (EOS included when produced). Prompts of
// equal length run as one batch (the attention kernel has no padding mask, so prompts of
// different lengths run in separate batches). Once a sequence is longer than the model's
// context, each step recomputes the newest block_size tokens (positions shift, learned or
// rotary, so cached keys cannot be reused); cached and uncached generation give the same tokens.
// Sampling uses one generator per prompt, seeded from `seed` and the prompt's index, so a
// prompt's continuation does not depend on what it is batched with.
std::vector<std::vector<int64_t>> generate(models::CausalLM& model,
                                           const std::vector<std::vector<int64_t>>& prompts,
                                           const GenerationOptions& options,
                                           const TokenCallback& on_token = {});

}  // namespace kiln::infer
