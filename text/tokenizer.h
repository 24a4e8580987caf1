#pragma once
// The tokenizer interface every text pipeline uses (data preparation, training, generation),
// and load_tokenizer, which recognises the tokenizer formats users already have.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Text (UTF-8) -> token ids. Invalid UTF-8 is a kiln::Error naming the byte offset.
  virtual std::vector<int64_t> encode(std::string_view text) const = 0;
  // Ids -> the exact bytes they stand for. A cut through a multi-byte character (ids of part of
  // a text) gives bytes that are not valid UTF-8 on their own. An unknown id is a kiln::Error.
  virtual std::string decode(const std::vector<int64_t>& ids) const = 0;
  // Ids run from 0 to vocab_size() - 1.
  virtual int64_t vocab_size() const = 0;

  // As encode, plus the tokens the tokenizer's files say go around a text (Hugging Face's
  // add_special_tokens = true: <s> first for Llama 2, <|begin_of_text|> for Llama 3). GPT-2's and
  // the character tokenizer add none.
  virtual std::vector<int64_t> encode_with_special_tokens(std::string_view text) const;

  // The end-of-text token (<|endoftext|> for GPT-2), if the vocabulary has one.
  virtual std::optional<int64_t> eos_id() const = 0;
  // The beginning-of-text token (<s>, <|begin_of_text|>), if the tokenizer names one.
  virtual std::optional<int64_t> bos_id() const;
  // A vocabulary entry as the tokenizer's files write it (for byte-level BPE in GPT-2's byte
  // alphabet: " the" is "Ġthe"), and back; id_to_token throws on an unknown id.
  virtual std::optional<int64_t> token_to_id(std::string_view token) const = 0;
  virtual std::string id_to_token(int64_t id) const = 0;

  // Writes the tokenizer's files into dir (created if missing); load_tokenizer(dir) reads them.
  virtual void save(const std::filesystem::path& dir) const = 0;
};

// Loads the tokenizer in dir, recognised by its files, in this order of preference:
//   char_tokenizer.json        kiln's character tokenizer
//   tokenizer.json             a Hugging Face fast tokenizer with a BPE model: GPT-2's plain
//                              byte-level pipeline as ByteLevelBpe, the others (Llama 2/3,
//                              SmolLM, Qwen2, TinyLlama) as HfTokenizer, with
//                              tokenizer_config.json's BOS/EOS when it is there
//   vocab.json + merges.txt    Hugging Face's GPT-2 layout
//   encoder.json + vocab.bpe   OpenAI's GPT-2 layout
// A missing directory, a half pair, or a corrupt file is a kiln::Error naming the path.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& dir);

}  // namespace kiln
