#pragma once
// Mean next-token loss and perplexity of a token sequence under a model.
#include <vector>

#include "models/causal_lm.h"

namespace kiln::infer {

struct LossResult {
  double loss = 0.0;        // mean negative log-likelihood (nats) per predicted token
  double perplexity = 1.0;  // exp(loss)
  int64_t tokens = 0;       // predicted tokens: ids.size() - 1
};

// Every token after the first is predicted from the tokens before it. A sequence longer than
// the context is scored with a sliding window: windows of block_size advance by `stride`
// (default block_size / 2) and each token is scored once, with at least block_size - stride
// tokens of context once the first window is done — the method of Hugging Face's perplexity
// guide, so results are comparable.
LossResult evaluate_loss(models::CausalLM& model, const std::vector<int64_t>& ids,
                         int64_t stride = 0);

}  // namespace kiln::infer
