#pragma once
// The special tokens a saved model's config.json names (bos_token_id, eos_token_id), from the
// tokenizer it is saved with: models/ does not see text/, so the caller passes them. GPT-2's
// bos and eos are both <|endoftext|>; a character vocabulary has neither.
#include <cstdint>
#include <optional>

namespace kiln::models {

struct SpecialTokenIds {
  std::optional<int64_t> bos;
  std::optional<int64_t> eos;
};

// An id outside [0, vocab_size) is a kiln::Error naming it.
void check_special_ids(const SpecialTokenIds& ids, int64_t vocab_size);

}  // namespace kiln::models
