#pragma once
// The attention weights of every layer and head for one prompt, exported as CSV for the
// course's heat maps (course/plot_attention.py draws them).
#include <filesystem>
#include <string>
#include <vector>

#include "models/causal_lm.h"

namespace kiln::infer {

// Attention weights [layer][head] as T×T row-major matrices (row = query position).
std::vector<std::vector<std::vector<float>>> attention_maps(models::CausalLM& model,
                                                            const std::vector<int64_t>& ids);

// Writes `out_dir`/tokens.csv (position,id,token) and `out_dir`/layer<L>_head<H>.csv (T rows of
// T weights; row i is query position i, zero above the diagonal). Every file is written to a
// temporary name and renamed.
void export_attention_maps(models::CausalLM& model, const std::vector<int64_t>& ids,
                           const std::vector<std::string>& tokens,
                           const std::filesystem::path& out_dir);

}  // namespace kiln::infer
