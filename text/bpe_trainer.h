#pragma once
// Learns a GPT-2-style byte-level BPE from a corpus: the same pre-tokenisation as encoding, then
// repeated merges of the most frequent adjacent pair, counted incrementally (only the words
// containing the merged pair are revisited), so a megabyte trains in about a second.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "text/byte_level_bpe.h"

namespace kiln {

struct BpeTrainerOptions {
  // Tokens in the result: the 256 bytes, the learned merges, then the special tokens.
  int64_t vocab_size = 1024;
  // Appended after the merges, in this order; cut out of the corpus before counting.
  std::vector<std::string> special_tokens = {"<|endoftext|>"};
  // Training stops early when the most frequent pair occurs fewer times than this.
  int64_t min_frequency = 2;
};

// Ids 0..255 are the bytes in GPT-2's byte_alphabet order (so a vocabulary trained here numbers
// its bytes as GPT-2's does); each merge adds the next id (unless its result is already a
// token). Among pairs of equal count the lexicographically smallest (left, right) pair of token
// strings wins, so training is deterministic. The corpus must be valid UTF-8.
ByteLevelBpe train_byte_level_bpe(std::string_view corpus, const BpeTrainerOptions& options);

}  // namespace kiln
