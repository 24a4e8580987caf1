#pragma once
// Token shards in llm.c's format (dev/data/data_common.py's write_datafile), so its data scripts
// (fineweb.py, tinyshakespeare.py, ...) and kiln's `prepare` produce files either can train on:
//
//   [1024 bytes]  256 little-endian int32: [0] magic, [1] version, [2] token count, rest 0
//   [rest]        the tokens, little-endian:
//                   uint16 (GPT-2 tokens):   magic 20240520, version 1
//                   uint32 (Llama 3 tokens): magic 20240801, version 7
//
// A shard is written as uint16 whenever every id of the vocabulary fits (vocab_size <= 65,536),
// so GPT-2's shards stay byte-for-byte what llm.c writes; larger vocabularies get llm.c's uint32
// layout. A magic with the other width's version is refused.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <span>

namespace kiln {

inline constexpr int32_t kShardMagicU16 = 20240520;
inline constexpr int32_t kShardVersionU16 = 1;
inline constexpr int32_t kShardMagicU32 = 20240801;
inline constexpr int32_t kShardVersionU32 = 7;
// What kiln wrote under the uint32 magic before it followed llm.c: refused, with a hint.
inline constexpr int32_t kShardVersionKilnU32 = 2;
inline constexpr int64_t kShardHeaderBytes = 1024;

// Bytes per token of a shard for this vocabulary: 2 when vocab_size <= 65,536, else 4.
int shard_token_bytes(int64_t vocab_size);

// Writes a shard incrementally, so a shard far larger than memory can be built from a stream:
// the tokens go to `<path>.tmp.<pid>.<n>`, and close() writes the header, flushes, and renames
// the file over `path`. A writer destroyed without close() (an exception on the way) removes
// its temporary file, so `path` is never half-written.
class ShardWriter {
 public:
  ShardWriter(const std::filesystem::path& path, int64_t vocab_size);
  ~ShardWriter();
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;

  // A token outside [0, vocab_size) is a kiln::Error naming the file and the token's position.
  void append(std::span<const int64_t> tokens);
  int64_t size() const { return count_; }
  void close();

 private:
  void discard();

  std::filesystem::path path_;
  std::filesystem::path temporary_;
  int64_t vocab_size_;
  int token_bytes_;
  int64_t count_ = 0;
  std::FILE* file_ = nullptr;
};

// One shard in one call (see ShardWriter).
void write_shard(const std::filesystem::path& path, std::span<const int64_t> tokens,
                 int64_t vocab_size);

// A shard mapped read-only. The header is validated on open: a file shorter than the header, a
// foreign magic, an unknown version, a negative count, or a size other than header + count
// tokens is a kiln::Error naming the file and what is wrong.
class ShardReader {
 public:
  explicit ShardReader(const std::filesystem::path& path);
  ~ShardReader();
  ShardReader(ShardReader&& other) noexcept;
  ShardReader& operator=(ShardReader&& other) noexcept;
  ShardReader(const ShardReader&) = delete;
  ShardReader& operator=(const ShardReader&) = delete;

  const std::filesystem::path& path() const { return path_; }
  int64_t size() const { return count_; }
  // 2 (uint16) or 4 (uint32).
  int token_bytes() const { return token_bytes_; }
  // Tokens [offset, offset + count) into out; a range outside the shard is a kiln::Error.
  void read(int64_t offset, int64_t count, int64_t* out) const;
  // The largest token (a pass over the whole shard), -1 for an empty shard: lets a caller check
  // the shard against its vocabulary.
  int64_t max_token() const;

 private:
  void release();

  std::filesystem::path path_;
  const unsigned char* map_ = nullptr;
  size_t map_size_ = 0;
  int64_t count_ = 0;
  int token_bytes_ = 2;
};

}  // namespace kiln
