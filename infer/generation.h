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
  // Off: every step recomputes the whole window (the same tokens, more work); for tests and
  // benchmarks.
  bool use_cache = true;
  // Called before each forward pass with the positions it runs and the positions already in
  // the cache (0 without one): what generation costs, for tests and profiling.
  std::function<void(int64_t positions, int64_t cached)> on_forward;
};

// The first position of the window the next token is predicted from, for a sequence of
// `length` tokens whose current window starts at `start`. While the window fits block_size it
// stays; when it would not, it restarts at the newest ceil(block_size / 2) tokens. GPT-2's
// positions are learned and absolute, so a window cannot slide one token at a time over cached
// keys (they would sit at the wrong positions); instead the cache is cleared and the kept
// tokens prefilled once, and the next floor(block_size / 2) tokens each cost one position. The
// context of a prediction is thus between ceil(block_size / 2) and block_size tokens.
int64_t next_window_start(int64_t length, int64_t start, int64_t block_size);

// Called with (prompt index, token id) as soon as each token is chosen: streaming output.
using TokenCallback = std::function<void(size_t, int64_t)>;

// Continues each prompt; returns the new ids of each (EOS included when produced). Prompts of
// equal length run as one batch (the attention kernel has no padding mask, so prompts of
// different lengths run in separate batches). Past the model's context, the window slides by
// half (next_window_start): the cache is cleared and the kept tokens are prefilled once, at
// positions counted from the window's start, learned (GPT-2) or rotary (Llama); cached and
// uncached generation give the same tokens.
// Sampling uses one generator per prompt, seeded from `seed` and the prompt's index, so a
// prompt's continuation does not depend on what it is batched with.
std::vector<std::vector<int64_t>> generate(models::CausalLM& model,
                                           const std::vector<std::vector<int64_t>>& prompts,
                                           const GenerationOptions& options,
                                           const TokenCallback& on_token = {});

// Greedy generate() of up to `max_new_tokens` ids per prompt, stopping after `stop_id`: the
// decoder the trainer scores synthetic tasks with (train::GreedyDecoder).
std::vector<std::vector<int64_t>> greedy_generate(models::CausalLM& model,
                                                  const std::vector<std::vector<int64_t>>& prompts,
                                                  int64_t max_new_tokens, int64_t stop_id);

}  // namespace kiln::infer
