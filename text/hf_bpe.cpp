#include "text/hf_bpe.h"

#include <algorithm>
#include <limits>
#include <mutex>

#include "core/error.h"
#include "text/utf8.h"

namespace kiln {

namespace {

constexpr const char* kOp = "tokenizer";
// Bounded like ByteLevelBpe's: emptied when full; long words, which rarely repeat, not kept.
constexpr size_t kCacheEntries = size_t{1} << 17;
constexpr size_t kMaxCachedWord = 256;

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

}  // namespace

struct HfBpe::Cache {
  std::mutex mutex;
  std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> words;
};

HfBpe::HfBpe(const std::vector<std::pair<std::string, int64_t>>& vocab,
             const std::vector<Merge>& merges, HfBpeOptions options, std::string source)
    : options_(std::move(options)), source_(std::move(source)), cache_(std::make_unique<Cache>()) {
  ids_.reserve(vocab.size());
  for (const auto& [token, id] : vocab) {
    KILN_CHECK(id >= 0 && id < std::numeric_limits<int32_t>::max(), kOp,
               "{}: token '{}' has id {}, outside what kiln supports", source_, token, id);
    const auto [it, inserted] = ids_.emplace(token, static_cast<int32_t>(id));
    KILN_CHECK(inserted, kOp, "{}: token '{}' appears twice in model.vocab", source_, token);
  }
  for (int b = 0; b < 256; ++b) {
    const auto it = ids_.find(fmt::format("<0x{:02X}>", b));
    byte_tokens_[b] = it == ids_.end() ? -1 : it->second;
  }
  if (options_.unk_token) {
    const auto it = ids_.find(*options_.unk_token);
    KILN_CHECK(it != ids_.end(), kOp, "{}: unk_token '{}' is not in model.vocab", source_,
               *options_.unk_token);
    unk_id_ = it->second;
  }
  const auto id_of = [&](const std::string& token, size_t rank, const Merge& merge) {
    const auto it = ids_.find(token);
    KILN_CHECK(it != ids_.end(), kOp, "{}: merge {} ('{} {}'): '{}' is not in model.vocab", source_,
               rank + 1, merge.first, merge.second, token);
    return it->second;
  };
  merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const Merge& merge = merges[rank];
    const int32_t left = id_of(merge.first, rank, merge);
    const int32_t right = id_of(merge.second, rank, merge);
    const int32_t result = id_of(merge.first + merge.second, rank, merge);
    // A repeated merge keeps its last rank, as the library's map does.
    merges_[pair_key(left, right)] = {static_cast<int32_t>(rank), result};
  }
}

HfBpe::~HfBpe() = default;
HfBpe::HfBpe(HfBpe&&) noexcept = default;
HfBpe& HfBpe::operator=(HfBpe&&) noexcept = default;

std::optional<int64_t> HfBpe::id_of(std::string_view token) const {
  const auto it = ids_.find(token);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

void HfBpe::tokenize(std::string_view word, std::vector<int64_t>& out) const {
  if (options_.ignore_merges) {
    if (const auto it = ids_.find(word); it != ids_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  const bool cacheable = word.size() <= kMaxCachedWord;
  if (cacheable) {
    const std::lock_guard<std::mutex> lock(cache_->mutex);
    if (const auto it = cache_->words.find(word); it != cache_->words.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }

  // The initial symbols, as the library's merge_word builds them.
  std::vector<int32_t> ids;
  ids.reserve(word.size());
  std::optional<int32_t> pending_unk;
  size_t pos = 0;
  while (pos < word.size()) {
    const size_t begin = pos;
    const char32_t c = utf8::next(word, pos);
    const std::string_view character = word.substr(begin, pos - begin);
    if (const auto it = ids_.find(character); it != ids_.end()) {
      if (pending_unk) ids.push_back(*std::exchange(pending_unk, std::nullopt));
      ids.push_back(it->second);
      continue;
    }
    if (options_.byte_fallback && std::all_of(character.begin(), character.end(), [&](char b) {
          return byte_tokens_[static_cast<uint8_t>(b)] >= 0;
        })) {
      for (const char b : character) ids.push_back(byte_tokens_[static_cast<uint8_t>(b)]);
      continue;
    }
    KILN_CHECK(unk_id_.has_value(), kOp,
               "{}: character {} at byte offset {} of the word has no token (no vocabulary "
               "entry, byte fallback or unk_token)",
               source_, utf8::describe(c), begin);
    if (pending_unk && !options_.fuse_unk) ids.push_back(*pending_unk);
    pending_unk = *unk_id_;
  }
  if (pending_unk) ids.push_back(*pending_unk);

  // The library's Word::merge_all: a heap of (rank, position), lowest first; an entry is stale
  // when the pair now at its position merges to something else (or is gone). New pairs join the
  // heap at once. O(n log n) in the word's length.
  const auto n = static_cast<int32_t>(ids.size());
  if (n > 1) {
    struct Candidate {
      int32_t rank, pos, token;
    };
    const auto later = [](const Candidate& x, const Candidate& y) {
      return x.rank != y.rank ? x.rank > y.rank : x.pos > y.pos;
    };
    std::vector<int32_t> next(n), prev(n);
    for (int32_t i = 0; i < n; ++i) {
      next[i] = i + 1;
      prev[i] = i - 1;
    }
    std::vector<bool> removed(n, false);
    std::vector<Candidate> heap;
    const auto push = [&](int32_t left) {
      const int32_t right = next[left];
      if (right >= n) return;
      const auto it = merges_.find(pair_key(ids[left], ids[right]));
      if (it == merges_.end()) return;
      heap.push_back({it->second.first, left, it->second.second});
      std::push_heap(heap.begin(), heap.end(), later);
    };
    for (int32_t i = 0; i + 1 < n; ++i) push(i);
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), later);
      const Candidate top = heap.back();
      heap.pop_back();
      if (removed[top.pos]) continue;
      const int32_t right = next[top.pos];
      if (right >= n) continue;
      const auto it = merges_.find(pair_key(ids[top.pos], ids[right]));
      if (it == merges_.end() || it->second.second != top.token) continue;
      ids[top.pos] = top.token;
      removed[right] = true;
      next[top.pos] = next[right];
      if (next[right] < n) prev[next[right]] = top.pos;
      if (prev[top.pos] >= 0) push(prev[top.pos]);
      push(top.pos);
    }
    size_t kept = 0;
    for (int32_t i = 0; i < n; i = next[i]) ids[kept++] = ids[i];
    ids.resize(kept);
  }

  out.insert(out.end(), ids.begin(), ids.end());
  if (cacheable) {
    const std::lock_guard<std::mutex> lock(cache_->mutex);
    if (cache_->words.size() >= kCacheEntries) cache_->words.clear();
    cache_->words.emplace(std::string(word), std::move(ids));
  }
}

}  // namespace kiln
