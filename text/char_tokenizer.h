#pragma once
// A character-level tokenizer, the course's first language models' vocabulary: one token per
// Unicode code point seen in the corpus (code points rather than bytes, so 'é' is one token and
// French text reads naturally), ids in increasing code point order. No special tokens.
#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "text/tokenizer.h"

namespace kiln {

class CharTokenizer final : public Tokenizer {
 public:
  // Token i is characters[i]; they must be distinct code points (not surrogates, <= U+10FFFF).
  explicit CharTokenizer(std::vector<char32_t> characters);

  // The sorted distinct code points of a non-empty UTF-8 corpus.
  static CharTokenizer from_corpus(std::string_view corpus);
  // Reads char_tokenizer.json: {"type": "char", "version": 1, "characters": ["\n", " ", ...]}.
  static CharTokenizer load(const std::filesystem::path& file);

  // A character outside the vocabulary is a kiln::Error naming it and its byte offset.
  std::vector<int64_t> encode(std::string_view text) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(characters_.size()); }
  std::optional<int64_t> eos_id() const override { return std::nullopt; }
  // A token is one character, as UTF-8.
  std::optional<int64_t> token_to_id(std::string_view token) const override;
  std::string id_to_token(int64_t id) const override;
  // Writes char_tokenizer.json.
  void save(const std::filesystem::path& dir) const override;

  const std::vector<char32_t>& characters() const { return characters_; }

 private:
  std::vector<char32_t> characters_;
  std::vector<std::string> utf8_;         // id -> the character as UTF-8
  std::array<int32_t, 128> ascii_ids_{};  // the common case without hashing; -1 when absent
  std::unordered_map<char32_t, int32_t> ids_;
};

}  // namespace kiln
