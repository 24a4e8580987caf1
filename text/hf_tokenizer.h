#pragma once
// A Hugging Face tokenizer.json with a BPE model, run stage by stage as the `tokenizers` library
// runs it, so ids match it exactly: added tokens are cut out first (those with normalized =
// false from the raw text, the others after normalizing), each stretch between them is
// normalized, pre-tokenized into words, and each word is encoded by the BPE model; decoding runs
// the file's decoder. This covers the Llama family: byte-level BPE behind a Split regex (Llama 3,
// Qwen2 without NFC, SmolLM's Digits) and SentencePiece-style BPE with byte fallback (Llama 2,
// TinyLlama). GPT-2's plain ByteLevel files load as ByteLevelBpe instead (load_tokenizer).
// tokenizer_config.json, when present, names BOS and EOS and may say whether BOS/EOS are added.
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "text/added_tokens.h"
#include "text/hf_bpe.h"
#include "text/hf_pipeline.h"
#include "text/tokenizer.h"

namespace kiln {

class HfTokenizer final : public Tokenizer {
 public:
  // `root`: the parsed tokenizer.json (`file` names it in errors); `config`: the parsed
  // tokenizer_config.json or null (`config_file` names it).
  HfTokenizer(nlohmann::json root, std::string file, nlohmann::json config,
              std::string config_file);
  // Reads dir/tokenizer.json and dir/tokenizer_config.json when it exists.
  static HfTokenizer load(const std::filesystem::path& dir);
  // True when the file is GPT-2's plain byte-level pipeline, which ByteLevelBpe reads.
  static bool is_gpt2_pipeline(const nlohmann::json& root);

  // The text's ids only (the library's add_special_tokens = false), so that pieces of a long
  // text encode to pieces of its ids.
  std::vector<int64_t> encode(std::string_view text) const override;
  // With the post-processor's tokens around them (add_special_tokens = true): BOS first for
  // Llama 2 and 3.
  std::vector<int64_t> encode_with_special_tokens(std::string_view text) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(tokens_.size()); }
  std::optional<int64_t> eos_id() const override { return eos_id_; }
  std::optional<int64_t> bos_id() const override { return bos_id_; }
  std::optional<int64_t> token_to_id(std::string_view token) const override;
  std::string id_to_token(int64_t id) const override;
  // Writes tokenizer.json (and tokenizer_config.json when one was read) as they were read.
  void save(const std::filesystem::path& dir) const override;

 private:
  void encode_into(std::string_view text, std::vector<int64_t>& out) const;
  void encode_normalized(std::string text, bool at_start, std::vector<int64_t>& out) const;
  void read_post_processor(const nlohmann::json& spec);
  void read_config();

  nlohmann::json root_, config_;
  std::string file_, config_file_;
  std::vector<std::string> tokens_;  // id -> token string as the file writes it
  std::vector<AddedToken> added_;
  AddedTokenSplitter raw_splitter_, normalized_splitter_;
  HfNormalizer normalizer_;
  HfPreTokenizer pre_tokenizer_;
  std::unique_ptr<HfBpe> model_;
  HfDecoder decoder_;
  std::vector<int64_t> prefix_, suffix_;  // the single-sequence template around $A
  std::optional<int64_t> bos_id_, eos_id_;
};

}  // namespace kiln
