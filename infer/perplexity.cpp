#include "infer/perplexity.h"

#include <cmath>

#include "core/autograd.h"
#include "core/ops/loss.h"
#include "core/ops/shape.h"

namespace kiln::infer {

LossResult evaluate_loss(models::CausalLM& model, const std::vector<int64_t>& ids, int64_t stride) {
  const int64_t n = static_cast<int64_t>(ids.size());
  KILN_CHECK(n >= 2, "eval", "need at least 2 tokens to score, got {}", n);
  const int64_t block = model.shape().block_size;
  if (stride <= 0) stride = std::max<int64_t>(1, block / 2);
  KILN_CHECK(stride <= block, "eval", "stride {} exceeds the context length {}", stride, block);
  const int64_t vocab = model.shape().vocab_size;
  for (const int64_t id : ids)
    KILN_CHECK(id >= 0 && id < vocab, "eval", "token id {} outside the vocabulary [0, {})", id,
               vocab);

  const bool was_training = model.training();
  model.eval();
  NoGradGuard no_grad;
  const Device device = model.parameters().front().device();
  double total_nll = 0.0;
  int64_t scored_until = 1;  // tokens [1, scored_until) have been scored
  for (int64_t begin = 0; scored_until < n; begin += stride) {
    const int64_t end = std::min(begin + block + 1, n);  // inputs [begin, end-1), targets +1
    const std::vector<int64_t> window(ids.begin() + begin, ids.begin() + end);
    const int64_t width = end - begin - 1;
    const Tensor inputs =
        from_vector(std::vector<int64_t>(window.begin(), window.end() - 1), {1, width}, device);
    // Targets already scored by an earlier window are ignored here.
    std::vector<int64_t> targets(window.begin() + 1, window.end());
    const int64_t fresh_from = scored_until - (begin + 1);
    for (int64_t i = 0; i < fresh_from; ++i) targets[static_cast<size_t>(i)] = -100;
    const int64_t fresh = width - std::max<int64_t>(fresh_from, 0);
    const Tensor logits = model.forward(inputs);
    const double mean_nll =
        cross_entropy(logits.reshape({width, vocab}), from_vector(targets, {width}, device), -100)
            .item();
    total_nll += mean_nll * static_cast<double>(fresh);
    scored_until = end;
  }
  model.train(was_training);
  LossResult result;
  result.tokens = n - 1;
  result.loss = total_nll / static_cast<double>(n - 1);
  result.perplexity = std::exp(result.loss);
  return result;
}

}  // namespace kiln::infer
