#include "text/tokenizer.h"

#include "core/error.h"
#include "core/file_io.h"
#include "text/byte_level_bpe.h"
#include "text/char_tokenizer.h"
#include "text/hf_tokenizer.h"

namespace kiln {

std::vector<int64_t> Tokenizer::encode_with_special_tokens(std::string_view text) const {
  return encode(text);
}

std::optional<int64_t> Tokenizer::bos_id() const {
  return std::nullopt;
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& dir) {
  constexpr const char* op = "tokenizer";
  std::error_code error;
  KILN_CHECK(std::filesystem::exists(dir, error), op, "tokenizer directory {} does not exist",
             dir.string());
  KILN_CHECK(std::filesystem::is_directory(dir, error), op,
             "{} is not a directory (load_tokenizer takes the folder holding the files)",
             dir.string());
  const auto has = [&](const char* name) { return std::filesystem::exists(dir / name, error); };

  if (has("char_tokenizer.json")) {
    return std::make_unique<CharTokenizer>(CharTokenizer::load(dir / "char_tokenizer.json"));
  }
  if (has("tokenizer.json")) {
    const std::filesystem::path file = dir / "tokenizer.json";
    nlohmann::json root = read_json_file(file, op);
    if (HfTokenizer::is_gpt2_pipeline(root)) {
      return std::make_unique<ByteLevelBpe>(ByteLevelBpe::load_tokenizer_json(file));
    }
    const std::filesystem::path config_file = dir / "tokenizer_config.json";
    nlohmann::json config =
        has("tokenizer_config.json") ? read_json_file(config_file, op) : nlohmann::json();
    return std::make_unique<HfTokenizer>(std::move(root), file.string(), std::move(config),
                                         config_file.string());
  }
  for (const auto& [vocab, merges] :
       {std::pair{"vocab.json", "merges.txt"}, std::pair{"encoder.json", "vocab.bpe"}}) {
    if (!has(vocab) && !has(merges)) continue;
    KILN_CHECK(has(vocab) && has(merges), op, "{} has {} but no {}", dir.string(),
               has(vocab) ? vocab : merges, (dir / (has(vocab) ? merges : vocab)).string());
    return std::make_unique<ByteLevelBpe>(ByteLevelBpe::load(dir / vocab, dir / merges));
  }
  fail(op,
       "no tokenizer in {}: expected char_tokenizer.json, tokenizer.json, vocab.json + "
       "merges.txt, or encoder.json + vocab.bpe",
       dir.string());
}

}  // namespace kiln
