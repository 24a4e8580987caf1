#pragma once
// The BPE model of a Hugging Face tokenizer.json, as the `tokenizers` library runs it: a word's
// characters start as one symbol each (their vocabulary entry; with byte_fallback, <0xNN> for
// each UTF-8 byte of a character the vocabulary lacks; else the unk token, consecutive ones fused
// with fuse_unk), then the adjacent pair of lowest merge rank is merged, leftmost first, until no
// pair has a rank. With ignore_merges a word that is itself a vocabulary entry is that one token.
// Byte-level models see words already written in GPT-2's byte alphabet (the ByteLevel
// pre-tokenizer does that), so the same code serves Llama 3 and Llama 2.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace kiln {

struct HfBpeOptions {
  std::optional<std::string> unk_token;
  bool byte_fallback = false;
  bool fuse_unk = false;
  bool ignore_merges = false;
};

class HfBpe {
 public:
  using Merge = std::pair<std::string, std::string>;

  // vocab: (token, id) pairs; merges in rank order. `source` names the file in errors.
  HfBpe(const std::vector<std::pair<std::string, int64_t>>& vocab, const std::vector<Merge>& merges,
        HfBpeOptions options, std::string source);
  ~HfBpe();
  HfBpe(HfBpe&&) noexcept;
  HfBpe& operator=(HfBpe&&) noexcept;

  // Appends the ids of one pre-tokenised word (valid UTF-8, not empty). A character with no
  // token (no vocabulary entry, byte fallback or unk token) is a kiln::Error: the library would
  // drop it silently.
  void tokenize(std::string_view word, std::vector<int64_t>& out) const;

  std::optional<int64_t> id_of(std::string_view token) const;

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Cache;

  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> ids_;
  // (left id, right id) -> (rank, merged id)
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges_;
  std::array<int32_t, 256> byte_tokens_{};  // <0xNN> ids, -1 where missing
  HfBpeOptions options_;
  std::optional<int32_t> unk_id_;
  std::string source_;
  std::unique_ptr<Cache> cache_;
};

}  // namespace kiln
