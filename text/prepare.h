#pragma once
// `kiln prepare`: UTF-8 text in, token shards out (text/shards.h), in memory bounded by the
// chunk size whatever the size of the corpus. See docs/data.md.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace kiln {

struct PrepareOptions {
  // A UTF-8 text file, or a directory whose regular files (names sorted; hidden files skipped;
  // not recursive) are the documents.
  std::filesystem::path input;
  // "char": a CharTokenizer built from the input's characters (a first pass over the data),
  // saved beside the shards as char_tokenizer.json. Otherwise a directory load_tokenizer reads.
  std::string tokenizer = "char";
  // Created if missing. Shards, meta.json (and char_tokenizer.json) of an earlier run are
  // replaced.
  std::filesystem::path output;
  // Tokens per shard at most (llm.c's fineweb.py writes 100M), at most INT32_MAX.
  int64_t shard_tokens = 100'000'000;
  // The last val_fraction of the token stream goes to the val shards, in [0, 0.5]; 0 writes no
  // val shard.
  double val_fraction = 0.1;
  // Bytes of text read per step. A chunk ends just before a whitespace character that follows a
  // visible ASCII character, preferably a line end, where GPT-2's pre-tokenisation always splits,
  // so chunked encoding gives the same tokens as encoding each file whole.
  int64_t chunk_bytes = int64_t{4} << 20;
};

struct PrepareResult {
  std::vector<std::filesystem::path> train_shards;
  std::vector<std::filesystem::path> val_shards;
  int64_t train_tokens = 0;
  int64_t val_tokens = 0;
  int64_t documents = 0;       // non-empty input files
  std::string tokenizer_kind;  // "char", "byte_level_bpe" or "hf_tokenizer_json"
  int64_t vocab_size = 0;
  std::optional<int64_t> eos_id;
};

// Tokenises options.input into options.output:
//   train_000000.bin, ...   the first (1 - val_fraction) of the tokens, in shards of equal size
//                           (within one token), as few as shard_tokens allows
//   val_000000.bin, ...     the rest
//   meta.json               tokenizer, vocab_size, eos_id, token counts, shards, source
//   char_tokenizer.json     with tokenizer "char"
// When the tokenizer has an EOS token, each document is preceded by it, as llm.c's data scripts
// do, so documents are separated by EOS; a literal "<|endoftext|>" in the text is the EOS token
// too. Files are staged in a hidden directory inside output and moved into place at the end, so
// a failed run leaves an earlier run's files as they were. A missing or empty input, a
// val_fraction outside [0, 0.5], an unknown tokenizer or invalid UTF-8 (naming the file and byte
// offset) is a kiln::Error.
PrepareResult prepare_shards(const PrepareOptions& options);

}  // namespace kiln
