#pragma once
// GPT-2's byte-level BPE: special tokens are cut out first; the rest is split into words by
// GPT-2's regex; each word's UTF-8 bytes start as one token each and are merged pair by pair,
// lowest merge rank first (all occurrences of the pair, left to right), as OpenAI's encoder.py.
// Decoding concatenates the bytes of the tokens, so decode(encode(s)) == s for every valid s.
// Encoding keeps a bounded cache of word -> ids behind a mutex: one instance may be shared by
// threads.
#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "text/special_tokens.h"
#include "text/tokenizer.h"

namespace kiln {

class ByteLevelBpe final : public Tokenizer {
 public:
  using Merge = std::pair<std::string, std::string>;

  // vocab: the token strings by id, ordinary tokens written in GPT-2's byte alphabet (see
  // byte_alphabet.h); merges: pairs of token strings, in rank order. Special tokens, matched
  // literally in the text, are the vocabulary entries that neither a byte nor a merge produces
  // (GPT-2's <|endoftext|>), plus `special_tokens` (Hugging Face's added tokens). A byte whose
  // symbol is not in the vocabulary encodes as unk_token when there is one, else is a
  // kiln::Error. `source` names the files in error messages.
  ByteLevelBpe(std::vector<std::string> vocab, const std::vector<Merge>& merges,
               const std::vector<std::string>& special_tokens = {},
               const std::optional<std::string>& unk_token = std::nullopt,
               std::string source = "byte-level BPE");
  ~ByteLevelBpe() override;
  ByteLevelBpe(ByteLevelBpe&&) noexcept;
  ByteLevelBpe& operator=(ByteLevelBpe&&) noexcept;

  // Hugging Face's vocab.json + merges.txt, or OpenAI's encoder.json + vocab.bpe (same formats).
  static ByteLevelBpe load(const std::filesystem::path& vocab_json,
                           const std::filesystem::path& merges_txt);
  // A Hugging Face tokenizer.json with a byte-level BPE model (GPT-2's, or one written like it).
  static ByteLevelBpe load_tokenizer_json(const std::filesystem::path& tokenizer_json);

  std::vector<int64_t> encode(std::string_view text) const override;
  // As encode, but special tokens are ordinary text: "<|endoftext|>" becomes "<", "|", ...
  std::vector<int64_t> encode_ordinary(std::string_view text) const;
  std::string decode(const std::vector<int64_t>& ids) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(tokens_.size()); }
  std::optional<int64_t> eos_id() const override { return eos_id_; }
  std::optional<int64_t> token_to_id(std::string_view token) const override;
  std::string id_to_token(int64_t id) const override;
  // Writes vocab.json and merges.txt (Hugging Face's layout).
  void save(const std::filesystem::path& dir) const override;

  // The merges in rank order, as pairs of token strings.
  std::vector<Merge> merges() const;
  const std::vector<std::string>& special_tokens() const { return splitter_.tokens(); }

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using TokenIds = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;
  struct MergeResult {
    int32_t rank;
    int32_t token;
  };
  struct WordCache;

  // Appends the ids of ordinary text (no special tokens); `base` is where the whole text starts,
  // for byte offsets in error messages.
  void encode_ordinary_into(std::string_view text, const char* base,
                            std::vector<int64_t>& out) const;
  void encode_word(std::string_view word, const char* base, std::vector<int32_t>& out) const;

  std::vector<std::string> tokens_;       // id -> vocabulary string
  std::vector<std::string> token_bytes_;  // id -> the bytes it decodes to
  TokenIds ids_;
  std::array<int32_t, 256> byte_ids_{};                    // byte -> id of its symbol, or -1
  std::unordered_map<uint64_t, MergeResult> merge_table_;  // (left id, right id) -> result
  std::vector<std::pair<int32_t, int32_t>> merge_list_;    // rank order, for save()
  std::vector<int32_t> special_ids_;                       // parallel to splitter_.tokens()
  SpecialTokenSplitter splitter_;
  std::optional<int64_t> eos_id_;
  std::optional<int32_t> unk_id_;
  int missing_bytes_ = 0;
  std::string source_;
  std::unique_ptr<WordCache> cache_;
};

}  // namespace kiln
