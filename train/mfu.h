#pragma once
// Model FLOPs utilisation: the FLOPs a training step needs by the model's shape, per second,
// over the device's peak. The peak is a datasheet figure for the dtype the matmuls run in
// (dense, no sparsity), so MFU compares runs across machines and frameworks the way nanoGPT,
// PaLM and Megatron report it; it is not a measured ceiling.
#include <cstdint>
#include <optional>
#include <string>

#include "core/dtype.h"
#include "models/causal_lm.h"

namespace kiln::train {

// FLOPs of one training token (forward and backward) at sequence length `seq_len`:
// 6·N for the weights (N = parameter_count, a tied embedding counted once) plus 12·L·A·T for
// attention's scores and weighted sums, A = n_head · head_dim the query width (n_embd in GPT-2;
// PaLM, appendix B; nanoGPT's estimate_mfu).
double training_flops_per_token(const models::LMShape& shape, int64_t parameter_count,
                                int64_t seq_len);

// The dense peak FLOP/s of a GPU by the driver's name, for matmuls in `dtype` (f32 counts as
// TF32 when `tf32` is on); nullopt for devices not in the table (every CPU among them).
std::optional<double> peak_flops(const std::string& device_name, DType dtype, bool tf32);

}  // namespace kiln::train
