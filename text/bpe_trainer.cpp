#include "text/bpe_trainer.h"

#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "text/byte_alphabet.h"
#include "text/pretokenizer.h"
#include "text/special_tokens.h"
#include "text/utf8.h"

namespace kiln {

namespace {

constexpr const char* kOp = "bpe_trainer";

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}
int32_t left_of(uint64_t key) {
  return static_cast<int32_t>(key >> 32);
}
int32_t right_of(uint64_t key) {
  return static_cast<int32_t>(key & 0xFFFFFFFFu);
}

void check_options(const BpeTrainerOptions& options) {
  std::unordered_set<std::string> seen;
  for (const std::string& token : options.special_tokens) {
    KILN_CHECK(!token.empty(), kOp, "a special token is the empty string");
    utf8::check_valid(token, kOp, "special tokens must be UTF-8");
    KILN_CHECK(seen.insert(token).second, kOp, "special token '{}' is given twice", token);
  }
  const auto minimum = static_cast<int64_t>(256 + options.special_tokens.size());
  KILN_CHECK(options.vocab_size >= minimum, kOp,
             "vocab_size {} is too small: the 256 bytes and {} special tokens need {}",
             options.vocab_size, options.special_tokens.size(), minimum);
  KILN_CHECK(options.vocab_size < (int64_t{1} << 31), kOp, "vocab_size {} is too large",
             options.vocab_size);
  KILN_CHECK(options.min_frequency >= 1, kOp, "min_frequency is {}, expected at least 1",
             options.min_frequency);
}

struct Word {
  std::vector<int32_t> symbols;
  int64_t count;
};

struct Candidate {
  int64_t count;
  int32_t left, right;
};

}  // namespace

ByteLevelBpe train_byte_level_bpe(std::string_view corpus, const BpeTrainerOptions& options) {
  check_options(options);
  utf8::check_valid(corpus, kOp, "the training corpus must be UTF-8");

  std::unordered_map<std::string_view, int64_t> word_counts;
  {
    std::vector<SpecialTokenSplitter::Piece> pieces;
    SpecialTokenSplitter(options.special_tokens).split(corpus, pieces);
    std::vector<std::string_view> words;
    for (const SpecialTokenSplitter::Piece& piece : pieces) {
      if (piece.special >= 0) continue;
      words.clear();
      gpt2_pretokenize(piece.text, words);
      for (const std::string_view word : words) ++word_counts[word];
    }
  }

  std::vector<std::string> tokens;
  std::unordered_map<std::string, int32_t> token_ids;
  std::array<int32_t, 256> byte_ids{};
  for (int i = 0; i < 256; ++i) {
    const uint8_t byte = byte_alphabet::byte_order()[i];
    tokens.push_back(byte_alphabet::symbol(byte));
    token_ids.emplace(tokens.back(), i);
    byte_ids[byte] = i;
  }

  std::vector<Word> words;
  words.reserve(word_counts.size());
  for (const auto& [text, count] : word_counts) {
    Word word{{}, count};
    word.symbols.reserve(text.size());
    for (const char c : text) word.symbols.push_back(byte_ids[static_cast<uint8_t>(c)]);
    words.push_back(std::move(word));
  }

  // Pair counts over all words, and for each pair the words that may contain it (a superset:
  // entries go stale when a merge removes the pair, and are skipped then).
  std::unordered_map<uint64_t, int64_t> pair_counts;
  std::unordered_map<uint64_t, std::vector<int32_t>> pair_words;
  for (size_t w = 0; w < words.size(); ++w) {
    const std::vector<int32_t>& s = words[w].symbols;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      const uint64_t key = pair_key(s[i], s[i + 1]);
      pair_counts[key] += words[w].count;
      pair_words[key].push_back(static_cast<int32_t>(w));
    }
  }

  // Most frequent first, then the smallest (left, right) pair of token strings. Entries whose
  // count no longer matches pair_counts are stale and skipped.
  const auto lower_priority = [&tokens](const Candidate& a, const Candidate& b) {
    if (a.count != b.count) return a.count < b.count;
    if (tokens[a.left] != tokens[b.left]) return tokens[a.left] > tokens[b.left];
    return tokens[a.right] > tokens[b.right];
  };
  std::priority_queue<Candidate, std::vector<Candidate>, decltype(lower_priority)> queue(
      lower_priority);
  for (const auto& [key, count] : pair_counts) queue.push({count, left_of(key), right_of(key)});

  const auto target = static_cast<size_t>(options.vocab_size) - options.special_tokens.size();
  std::vector<ByteLevelBpe::Merge> merges;
  std::vector<int32_t> visited(words.size(), -1);
  std::unordered_map<uint64_t, int64_t> delta;
  std::vector<int32_t> merged_symbols;
  for (int32_t step = 0; tokens.size() < target && !queue.empty(); ++step) {
    const Candidate best = queue.top();
    queue.pop();
    const uint64_t best_key = pair_key(best.left, best.right);
    const auto counted = pair_counts.find(best_key);
    if (counted == pair_counts.end() || counted->second != best.count) continue;
    if (best.count < options.min_frequency) break;

    std::string merged = tokens[best.left] + tokens[best.right];
    merges.emplace_back(tokens[best.left], tokens[best.right]);
    int32_t id;
    if (const auto it = token_ids.find(merged); it != token_ids.end()) {
      id = it->second;
    } else {
      id = static_cast<int32_t>(tokens.size());
      token_ids.emplace(merged, id);
      tokens.push_back(std::move(merged));
    }

    // Rewrite each word holding the pair (left to right, non-overlapping, as encoding does) and
    // collect the change of every pair count; only changed pairs go back in the queue.
    delta.clear();
    const std::vector<int32_t> holders = std::move(pair_words[best_key]);
    pair_words.erase(best_key);
    for (const int32_t w : holders) {
      if (visited[w] == step) continue;
      visited[w] = step;
      Word& word = words[w];
      const std::vector<int32_t>& s = word.symbols;
      merged_symbols.clear();
      for (size_t i = 0; i < s.size(); ++i) {
        if (i + 1 < s.size() && s[i] == best.left && s[i + 1] == best.right) {
          merged_symbols.push_back(id);
          ++i;
        } else {
          merged_symbols.push_back(s[i]);
        }
      }
      if (merged_symbols.size() == s.size()) continue;
      for (size_t i = 0; i + 1 < s.size(); ++i) delta[pair_key(s[i], s[i + 1])] -= word.count;
      for (size_t i = 0; i + 1 < merged_symbols.size(); ++i) {
        const uint64_t key = pair_key(merged_symbols[i], merged_symbols[i + 1]);
        delta[key] += word.count;
        if (merged_symbols[i] == id || merged_symbols[i + 1] == id) pair_words[key].push_back(w);
      }
      word.symbols.swap(merged_symbols);
    }
    for (const auto& [key, change] : delta) {
      if (change == 0) continue;
      int64_t& count = pair_counts[key];
      count += change;
      if (count <= 0) {
        pair_counts.erase(key);
      } else {
        queue.push({count, left_of(key), right_of(key)});
      }
    }
  }

  for (const std::string& special : options.special_tokens) {
    KILN_CHECK(!token_ids.contains(special), kOp,
               "special token '{}' is also a token learned from the corpus", special);
    tokens.push_back(special);
  }
  return ByteLevelBpe(std::move(tokens), merges, options.special_tokens, std::nullopt,
                      "trained byte-level BPE");
}

}  // namespace kiln
