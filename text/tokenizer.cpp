#include "text/tokenizer.h"

#include "core/error.h"
#include "text/byte_level_bpe.h"
#include "text/char_tokenizer.h"

namespace kiln {

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
    return std::make_unique<ByteLevelBpe>(
        ByteLevelBpe::load_tokenizer_json(dir / "tokenizer.json"));
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
