#pragma once
// An independent float64 GPT-2 forward pass in plain loops, for checking kiln's model: it
// reads the parameters by their Hugging Face names and shares no code with kiln's ops.
#include <map>
#include <string>
#include <vector>

#include "models/gpt.h"

namespace kiln::testing {

using ParamMap = std::map<std::string, std::vector<double>>;

ParamMap parameters_as_doubles(const models::GPT& model);

// Logits [T][vocab] of one sequence.
std::vector<std::vector<double>> reference_gpt_logits(const models::GPTConfig& config,
                                                      const ParamMap& params,
                                                      const std::vector<int64_t>& ids);

// Mean cross-entropy of predicting targets[t] from logits[t].
double reference_loss(const std::vector<std::vector<double>>& logits,
                      const std::vector<int64_t>& targets);

}  // namespace kiln::testing
