#include "text/byte_level_bpe.h"

#include <algorithm>
#include <limits>
#include <mutex>

#include "core/error.h"
#include "text/byte_alphabet.h"
#include "text/pretokenizer.h"
#include "text/utf8.h"

namespace kiln {

namespace {

constexpr const char* kOp = "bpe";
constexpr const char* kEndOfText = "<|endoftext|>";
// The word cache stays bounded: it is emptied when full, and very long words (which repeat
// rarely) are not kept.
constexpr size_t kCacheEntries = size_t{1} << 17;
constexpr size_t kMaxCachedWord = 256;

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

}  // namespace

struct ByteLevelBpe::WordCache {
  std::mutex mutex;
  std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> words;
};

ByteLevelBpe::ByteLevelBpe(std::vector<std::string> vocab, const std::vector<Merge>& merges,
                           const std::vector<std::string>& special_tokens,
                           const std::optional<std::string>& unk_token, std::string source)
    : tokens_(std::move(vocab)), source_(std::move(source)), cache_(std::make_unique<WordCache>()) {
  const size_t n = tokens_.size();
  KILN_CHECK(n > 0, kOp, "{}: the vocabulary is empty", source_);
  KILN_CHECK(n < static_cast<size_t>(std::numeric_limits<int32_t>::max()), kOp,
             "{}: {} tokens is more than kiln supports", source_, n);
  ids_.reserve(n);
  for (size_t id = 0; id < n; ++id) {
    const std::string& token = tokens_[id];
    KILN_CHECK(!token.empty(), kOp, "{}: token {} is the empty string", source_, id);
    utf8::check_valid(token, kOp, fmt::format("{}: token {}", source_, id));
    const auto [it, inserted] = ids_.emplace(token, static_cast<int32_t>(id));
    KILN_CHECK(inserted, kOp, "{}: token '{}' appears twice (ids {} and {})", source_, token,
               it->second, id);
  }

  // Tokens a byte or a merge produces are ordinary; the others can only come from the text.
  std::vector<bool> reachable(n, false);
  for (int b = 0; b < 256; ++b) {
    const auto it = ids_.find(byte_alphabet::symbol(static_cast<uint8_t>(b)));
    byte_ids_[b] = it == ids_.end() ? -1 : it->second;
    if (it == ids_.end()) {
      ++missing_bytes_;
    } else {
      reachable[it->second] = true;
    }
  }
  const auto id_of = [&](const std::string& token, size_t rank, const Merge& merge) {
    const auto it = ids_.find(token);
    KILN_CHECK(it != ids_.end(), kOp, "{}: merge {} ('{} {}'): '{}' is not in the vocabulary",
               source_, rank + 1, merge.first, merge.second, token);
    return it->second;
  };
  merge_table_.reserve(merges.size());
  merge_list_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const Merge& merge = merges[rank];
    const int32_t left = id_of(merge.first, rank, merge);
    const int32_t right = id_of(merge.second, rank, merge);
    const int32_t result = id_of(merge.first + merge.second, rank, merge);
    // A repeated merge keeps its last rank, as encoder.py's dict(zip(merges, range(...))) does.
    merge_table_[pair_key(left, right)] = {static_cast<int32_t>(rank), result};
    merge_list_.emplace_back(left, right);
    reachable[result] = true;
  }

  std::vector<bool> special(n, false);
  for (size_t id = 0; id < n; ++id) special[id] = !reachable[id];
  for (const std::string& token : special_tokens) {
    const auto it = ids_.find(token);
    KILN_CHECK(it != ids_.end(), kOp, "{}: special token '{}' is not in the vocabulary", source_,
               token);
    special[it->second] = true;
  }
  std::vector<std::string> special_names;
  token_bytes_.resize(n);
  for (size_t id = 0; id < n; ++id) {
    if (special[id]) {
      token_bytes_[id] = tokens_[id];
      special_names.push_back(tokens_[id]);
      special_ids_.push_back(static_cast<int32_t>(id));
      continue;
    }
    std::optional<std::string> bytes = byte_alphabet::decode(tokens_[id]);
    KILN_CHECK(bytes.has_value(), kOp,
               "{}: token '{}' (id {}) is made by merges but is not written in GPT-2's byte "
               "alphabet (is this a byte-level BPE?)",
               source_, tokens_[id], id);
    token_bytes_[id] = std::move(*bytes);
  }
  splitter_ = SpecialTokenSplitter(std::move(special_names));

  if (const auto it = ids_.find(kEndOfText); it != ids_.end()) eos_id_ = it->second;
  if (unk_token) {
    const auto it = ids_.find(*unk_token);
    KILN_CHECK(it != ids_.end(), kOp, "{}: unk token '{}' is not in the vocabulary", source_,
               *unk_token);
    unk_id_ = it->second;
  }
}

ByteLevelBpe::~ByteLevelBpe() = default;
ByteLevelBpe::ByteLevelBpe(ByteLevelBpe&&) noexcept = default;
ByteLevelBpe& ByteLevelBpe::operator=(ByteLevelBpe&&) noexcept = default;

std::vector<int64_t> ByteLevelBpe::encode(std::string_view text) const {
  utf8::check_valid(text, kOp, "the text to encode must be UTF-8");
  std::vector<SpecialTokenSplitter::Piece> pieces;
  splitter_.split(text, pieces);
  std::vector<int64_t> out;
  out.reserve(text.size() / 3);
  for (const SpecialTokenSplitter::Piece& piece : pieces) {
    if (piece.special >= 0) {
      out.push_back(special_ids_[piece.special]);
    } else {
      encode_ordinary_into(piece.text, text.data(), out);
    }
  }
  return out;
}

std::vector<int64_t> ByteLevelBpe::encode_ordinary(std::string_view text) const {
  utf8::check_valid(text, kOp, "the text to encode must be UTF-8");
  std::vector<int64_t> out;
  out.reserve(text.size() / 3);
  encode_ordinary_into(text, text.data(), out);
  return out;
}

void ByteLevelBpe::encode_ordinary_into(std::string_view text, const char* base,
                                        std::vector<int64_t>& out) const {
  std::vector<std::string_view> words;
  words.reserve(text.size() / 4);
  gpt2_pretokenize(text, words);
  std::vector<int32_t> ids;
  for (const std::string_view word : words) {
    ids.clear();
    encode_word(word, base, ids);
    out.insert(out.end(), ids.begin(), ids.end());
  }
}

void ByteLevelBpe::encode_word(std::string_view word, const char* base,
                               std::vector<int32_t>& out) const {
  const bool cacheable = word.size() > 1 && word.size() <= kMaxCachedWord;
  if (cacheable) {
    const std::lock_guard<std::mutex> lock(cache_->mutex);
    if (const auto it = cache_->words.find(word); it != cache_->words.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }

  const size_t n = word.size();
  std::vector<int32_t> ids(n);
  for (size_t i = 0; i < n; ++i) {
    const auto byte = static_cast<uint8_t>(word[i]);
    int32_t id = byte_ids_[byte];
    if (id < 0) {
      KILN_CHECK(unk_id_.has_value(), kOp,
                 "{}: byte 0x{:02X} at byte offset {} has no token (the vocabulary lacks {} of "
                 "the 256 byte symbols and has no unk token)",
                 source_, byte, word.data() + i - base, missing_bytes_);
      id = *unk_id_;
    }
    ids[i] = id;
  }

  // Merge lowest rank first, every occurrence of that pair left to right before any other pair
  // (encoder.py's loop), over a linked list with a heap of candidate pairs: O(n log n), so a
  // megabyte without a space is as fine as a short word.
  if (n > 1) {
    struct Candidate {
      int32_t rank, left, a, b, token;
    };
    const auto later = [](const Candidate& x, const Candidate& y) {
      return x.rank != y.rank ? x.rank > y.rank : x.left > y.left;
    };
    const auto end = static_cast<int32_t>(n);
    std::vector<int32_t> next(n), prev(n);
    for (int32_t i = 0; i < end; ++i) {
      next[i] = i + 1;
      prev[i] = i - 1;
    }
    std::vector<Candidate> heap;
    const auto push = [&](int32_t left) {
      const int32_t right = next[left];
      if (right >= end) return;
      const auto it = merge_table_.find(pair_key(ids[left], ids[right]));
      if (it == merge_table_.end()) return;
      heap.push_back({it->second.rank, left, ids[left], ids[right], it->second.token});
      std::push_heap(heap.begin(), heap.end(), later);
    };
    for (int32_t i = 0; i + 1 < end; ++i) push(i);
    std::vector<int32_t> merged;
    while (!heap.empty()) {
      const int32_t rank = heap.front().rank;
      merged.clear();
      while (!heap.empty() && heap.front().rank == rank) {
        std::pop_heap(heap.begin(), heap.end(), later);
        const Candidate c = heap.back();
        heap.pop_back();
        // Stale when an earlier merge consumed either side (consumed nodes hold -1).
        const int32_t right = next[c.left];
        if (ids[c.left] != c.a || right >= end || ids[right] != c.b) continue;
        ids[c.left] = c.token;
        ids[right] = -1;
        next[c.left] = next[right];
        if (next[right] < end) prev[next[right]] = c.left;
        merged.push_back(c.left);
      }
      // New pairs join the heap only now, so this rank finishes first even when a new pair
      // ranks lower (possible with hand-made merge lists).
      for (const int32_t left : merged) {
        if (prev[left] >= 0) push(prev[left]);
        push(left);
      }
    }
    size_t kept = 0;
    for (int32_t i = 0; i < end; i = next[i]) ids[kept++] = ids[i];
    ids.resize(kept);
  }

  out.insert(out.end(), ids.begin(), ids.end());
  if (cacheable) {
    const std::lock_guard<std::mutex> lock(cache_->mutex);
    if (cache_->words.size() >= kCacheEntries) cache_->words.clear();
    cache_->words.emplace(std::string(word), std::move(ids));
  }
}

std::string ByteLevelBpe::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  out.reserve(ids.size() * 4);
  for (size_t i = 0; i < ids.size(); ++i) {
    const int64_t id = ids[i];
    KILN_CHECK(id >= 0 && id < vocab_size(), kOp,
               "id {} at position {} is out of range (vocabulary of {} tokens)", id, i,
               vocab_size());
    out += token_bytes_[id];
  }
  return out;
}

std::optional<int64_t> ByteLevelBpe::token_to_id(std::string_view token) const {
  const auto it = ids_.find(token);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

std::string ByteLevelBpe::id_to_token(int64_t id) const {
  KILN_CHECK(id >= 0 && id < vocab_size(), kOp, "id {} is out of range (vocabulary of {} tokens)",
             id, vocab_size());
  return tokens_[id];
}

std::vector<ByteLevelBpe::Merge> ByteLevelBpe::merges() const {
  std::vector<Merge> out;
  out.reserve(merge_list_.size());
  for (const auto& [left, right] : merge_list_) out.emplace_back(tokens_[left], tokens_[right]);
  return out;
}

}  // namespace kiln
