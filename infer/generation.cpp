#include "infer/generation.h"

#include <map>

#include "core/autograd.h"
#include "core/ops/shape.h"

namespace kiln::infer {
namespace {

// Logits of the last position of each row, on the host.
std::vector<std::vector<float>> last_logits(const Tensor& logits) {
  const int64_t batch = logits.size(0), vocab = logits.size(2);
  const std::vector<float> last =
      slice(logits, 1, -1, logits.size(1)).to(DType::f32).to_vector<float>();
  std::vector<std::vector<float>> rows;
  for (int64_t b = 0; b < batch; ++b)
    rows.emplace_back(last.begin() + b * vocab, last.begin() + (b + 1) * vocab);
  return rows;
}

Tensor ids_tensor(const std::vector<std::vector<int64_t>>& rows, size_t from, Device device) {
  std::vector<int64_t> flat;
  for (const auto& row : rows)
    flat.insert(flat.end(), row.begin() + static_cast<long>(from), row.end());
  const int64_t width = static_cast<int64_t>(rows[0].size() - from);
  return from_vector(flat, {static_cast<int64_t>(rows.size()), width}, device);
}

// One batch of equally long prompts.
void generate_batch(models::CausalLM& model, const std::vector<size_t>& members,
                    const std::vector<std::vector<int64_t>>& prompts,
                    const GenerationOptions& options, const TokenCallback& on_token,
                    std::vector<std::vector<int64_t>>& results) {
  const int64_t block = model.shape().block_size;
  const Device device = model.parameters().front().device();
  const int64_t batch = static_cast<int64_t>(members.size());
  std::vector<std::vector<int64_t>> sequences;
  std::vector<Generator> generators;
  for (const size_t m : members) {
    sequences.push_back(prompts[m]);
    generators.emplace_back(options.seed + 0x9E3779B97F4A7C15ull * (m + 1));
  }
  std::vector<bool> done(members.size(), false);
  std::optional<models::KVCache> cache;
  if (options.use_cache) cache.emplace(model.make_cache(batch));

  int64_t start = 0;  // the window's first position in the sequences
  for (int64_t step = 0; step < options.max_new_tokens; ++step) {
    const auto length = static_cast<int64_t>(sequences[0].size());
    const int64_t window = next_window_start(length, start, block);
    if (window != start && cache) cache->clear();
    start = window;
    // With the cache, only the positions it does not hold yet: the prompt or the kept part of
    // the window once, then one token per step.
    const int64_t cached = cache ? cache->length() : 0;
    const int64_t from = start + cached;
    if (options.on_forward) options.on_forward(length - from, cached);
    const Tensor logits = model.forward(ids_tensor(sequences, static_cast<size_t>(from), device),
                                        cache ? &*cache : nullptr);
    const std::vector<std::vector<float>> rows = last_logits(logits);
    bool all_done = true;
    for (size_t b = 0; b < members.size(); ++b) {
      // Finished rows keep stepping with the batch (their cache must stay aligned) but their
      // tokens are no longer reported.
      const int64_t token = sample_token(rows[b], options.sampling, generators[b]);
      sequences[b].push_back(token);
      if (done[b]) continue;
      results[members[b]].push_back(token);
      if (on_token) on_token(members[b], token);
      if (options.eos_id && token == *options.eos_id) done[b] = true;
      all_done = all_done && done[b];
    }
    if (all_done) break;
  }
}

}  // namespace

int64_t next_window_start(int64_t length, int64_t start, int64_t block_size) {
  if (length - start <= block_size) return start;
  return length - (block_size - block_size / 2);
}

std::vector<std::vector<int64_t>> generate(models::CausalLM& model,
                                           const std::vector<std::vector<int64_t>>& prompts,
                                           const GenerationOptions& options,
                                           const TokenCallback& on_token) {
  KILN_CHECK(options.max_new_tokens >= 0, "generate", "max_new_tokens must be >= 0, got {}",
             options.max_new_tokens);
  if (!options.sampling.greedy) options.sampling.validate();
  const int64_t vocab = model.shape().vocab_size;
  std::map<size_t, std::vector<size_t>> by_length;
  for (size_t i = 0; i < prompts.size(); ++i) {
    KILN_CHECK(!prompts[i].empty(), "generate", "prompt {} is empty", i);
    KILN_CHECK(static_cast<int64_t>(prompts[i].size()) <= model.shape().block_size, "generate",
               "prompt {} has {} tokens, longer than the model's context of {}", i,
               prompts[i].size(), model.shape().block_size);
    for (const int64_t id : prompts[i])
      KILN_CHECK(id >= 0 && id < vocab, "generate", "prompt {} has token id {} outside [0, {})", i,
                 id, vocab);
    by_length[prompts[i].size()].push_back(i);
  }
  const bool was_training = model.training();
  model.eval();
  NoGradGuard no_grad;
  std::vector<std::vector<int64_t>> results(prompts.size());
  for (const auto& [length, members] : by_length)
    generate_batch(model, members, prompts, options, on_token, results);
  model.train(was_training);
  return results;
}

std::vector<std::vector<int64_t>> greedy_generate(models::CausalLM& model,
                                                  const std::vector<std::vector<int64_t>>& prompts,
                                                  int64_t max_new_tokens, int64_t stop_id) {
  GenerationOptions options;
  options.max_new_tokens = max_new_tokens;
  options.sampling.greedy = true;
  options.eos_id = stop_id;
  return generate(model, prompts, options);
}

}  // namespace kiln::infer
