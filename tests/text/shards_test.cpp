#include "text/shards.h"

#include <gtest/gtest.h>

#include <fstream>
#include <vector>

#include "tests/text/text_test_util.h"

namespace kiln {
namespace {

using testing::error_of;
using testing::TemporaryDirectory;

std::vector<unsigned char> file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::filesystem::path& path, const std::vector<unsigned char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// Little-endian bytes built by shifting, independent of the host's integer layout.
void put_le(std::vector<unsigned char>& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<unsigned char>(value >> (8 * i)));
}

// A shard as llm.c's write_datafile builds it: 256 int32 (magic, version, count, zeros), tokens.
std::vector<unsigned char> expected_shard(int32_t magic, int32_t version,
                                          const std::vector<int64_t>& tokens, int token_bytes) {
  std::vector<unsigned char> out;
  put_le(out, static_cast<uint32_t>(magic), 4);
  put_le(out, static_cast<uint32_t>(version), 4);
  put_le(out, tokens.size(), 4);
  out.resize(1024, 0);
  for (int64_t t : tokens) put_le(out, static_cast<uint64_t>(t), token_bytes);
  return out;
}

std::vector<int64_t> read_all(const ShardReader& reader) {
  std::vector<int64_t> out(static_cast<size_t>(reader.size()), -7);
  reader.read(0, reader.size(), out.data());
  return out;
}

size_t files_in(const std::filesystem::path& dir) {
  return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(dir),
                                           std::filesystem::directory_iterator()));
}

TEST(Shards, RoundTripU16) {
  TemporaryDirectory dir;
  const auto path = dir.path() / "train_000000.bin";
  std::vector<int64_t> tokens;
  for (int64_t i = 0; i < 100003; ++i) tokens.push_back((i * 7919) % 65536);
  tokens.back() = 65535;
  write_shard(path, tokens, 65536);
  const ShardReader reader(path);
  EXPECT_EQ(reader.token_bytes(), 2);
  EXPECT_EQ(reader.size(), 100003);
  EXPECT_EQ(read_all(reader), tokens);
  EXPECT_EQ(reader.max_token(), 65535);
  std::vector<int64_t> middle(5);
  reader.read(70000, 5, middle.data());
  EXPECT_EQ(middle, std::vector<int64_t>(tokens.begin() + 70000, tokens.begin() + 70005));
  EXPECT_EQ(std::filesystem::file_size(path), 1024u + 2u * 100003u);
  EXPECT_EQ(files_in(dir.path()), 1u);  // no temporary file left behind
}

TEST(Shards, RoundTripU32) {
  TemporaryDirectory dir;
  const auto path = dir.path() / "big_vocab.bin";
  const std::vector<int64_t> tokens = {0, 65535, 65536, 70000, 128255, 3};
  write_shard(path, tokens, 128256);
  const ShardReader reader(path);
  EXPECT_EQ(reader.token_bytes(), 4);
  EXPECT_EQ(read_all(reader), tokens);
  EXPECT_EQ(reader.max_token(), 128255);
}

TEST(Shards, EmptyShardRoundTrips) {
  TemporaryDirectory dir;
  write_shard(dir.path() / "empty.bin", {}, 50257);
  const ShardReader reader(dir.path() / "empty.bin");
  EXPECT_EQ(reader.size(), 0);
  EXPECT_EQ(reader.max_token(), -1);
  EXPECT_EQ(std::filesystem::file_size(dir.path() / "empty.bin"), 1024u);
}

TEST(Shards, TokenWidthFollowsVocabulary) {
  EXPECT_EQ(shard_token_bytes(50257), 2);
  EXPECT_EQ(shard_token_bytes(65536), 2);  // ids 0..65535 all fit in uint16
  EXPECT_EQ(shard_token_bytes(65537), 4);
  EXPECT_NE(error_of([] { shard_token_bytes(0); }).find("vocab_size"), std::string::npos);
}

TEST(Shards, HeaderIsLlmcByteForByte) {
  TemporaryDirectory dir;
  const std::vector<int64_t> tokens = {50256, 15496, 11, 616, 0, 258, 65535};
  write_shard(dir.path() / "a.bin", tokens, 65536);
  EXPECT_EQ(file_bytes(dir.path() / "a.bin"), expected_shard(20240520, 1, tokens, 2));
  // And llm.c's own bytes (made here, not by write_shard) read back.
  write_bytes(dir.path() / "b.bin", expected_shard(20240520, 1, tokens, 2));
  EXPECT_EQ(read_all(ShardReader(dir.path() / "b.bin")), tokens);
}

TEST(Shards, U32HeaderBytes) {
  TemporaryDirectory dir;
  const std::vector<int64_t> tokens = {1, 100000, 65536};
  write_shard(dir.path() / "a.bin", tokens, 100001);
  // llm.c's Llama 3 shards (dev/data/data_common.py, model_desc "llama-3"): magic 20240801,
  // version 7, uint32 tokens.
  EXPECT_EQ(file_bytes(dir.path() / "a.bin"), expected_shard(20240801, 7, tokens, 4));
  write_bytes(dir.path() / "b.bin", expected_shard(20240801, 7, tokens, 4));
  const ShardReader reader(dir.path() / "b.bin");
  EXPECT_EQ(reader.token_bytes(), 4);
  EXPECT_EQ(read_all(reader), tokens);
}

TEST(Shards, TokenOutsideVocabularyIsAnErrorAndWritesNothing) {
  TemporaryDirectory dir;
  const auto path = dir.path() / "bad.bin";
  const std::vector<int64_t> too_big = {1, 2, 50257};
  const std::string message = error_of([&] { write_shard(path, too_big, 50257); });
  EXPECT_NE(message.find(path.string()), std::string::npos) << message;
  EXPECT_NE(message.find("token 50257 at position 2"), std::string::npos) << message;
  const std::vector<int64_t> negative = {-1};
  EXPECT_NE(error_of([&] { write_shard(path, negative, 50257); }).find("token -1"),
            std::string::npos);
  EXPECT_EQ(files_in(dir.path()), 0u);
}

TEST(Shards, RewriteReplacesTheOldFile) {
  TemporaryDirectory dir;
  const auto path = dir.path() / "a.bin";
  write_shard(path, std::vector<int64_t>{1, 2, 3}, 10);
  write_shard(path, std::vector<int64_t>{4}, 10);
  EXPECT_EQ(read_all(ShardReader(path)), std::vector<int64_t>{4});
}

TEST(Shards, WriterAppendsInPieces) {
  TemporaryDirectory dir;
  const auto path = dir.path() / "a.bin";
  {
    ShardWriter writer(path, 1000);
    writer.append(std::vector<int64_t>{1, 2});
    writer.append(std::vector<int64_t>{});
    writer.append(std::vector<int64_t>{999});
    EXPECT_EQ(writer.size(), 3);
    EXPECT_FALSE(std::filesystem::exists(path));  // only the temporary file so far
    writer.close();
  }
  EXPECT_EQ(read_all(ShardReader(path)), (std::vector<int64_t>{1, 2, 999}));
}

TEST(Shards, AbandonedWriterLeavesNoFile) {
  TemporaryDirectory dir;
  {
    ShardWriter writer(dir.path() / "a.bin", 1000);
    writer.append(std::vector<int64_t>{1, 2});
  }
  EXPECT_EQ(files_in(dir.path()), 0u);
}

TEST(Shards, TruncatedFileIsAnError) {
  TemporaryDirectory dir;
  const auto path = dir.path() / "cut.bin";
  write_shard(path, std::vector<int64_t>{1, 2, 3, 4}, 50257);
  std::filesystem::resize_file(path, 1024 + 7);
  std::string message = error_of([&] { ShardReader reader(path); });
  EXPECT_NE(message.find(path.string()), std::string::npos) << message;
  EXPECT_NE(message.find("truncated"), std::string::npos) << message;
  EXPECT_NE(message.find("4 tokens"), std::string::npos) << message;

  std::filesystem::resize_file(path, 100);
  message = error_of([&] { ShardReader reader(path); });
  EXPECT_NE(message.find(path.string()), std::string::npos) << message;
  EXPECT_NE(message.find("shorter than the 1024-byte shard header"), std::string::npos) << message;
}

TEST(Shards, ForeignFileIsAnError) {
  TemporaryDirectory dir;
  const auto path = dir.path() / "notes.bin";
  std::vector<unsigned char> text(2048, 'a');
  write_bytes(path, text);
  const std::string message = error_of([&] { ShardReader reader(path); });
  EXPECT_NE(message.find(path.string()), std::string::npos) << message;
  EXPECT_NE(message.find("not a token shard"), std::string::npos) << message;
}

TEST(Shards, CorruptHeadersAreErrors) {
  TemporaryDirectory dir;
  const auto path = dir.path() / "corrupt.bin";
  const std::vector<int64_t> tokens = {5, 6};
  const auto check = [&](const std::vector<unsigned char>& bytes, const std::string& expected) {
    write_bytes(path, bytes);
    const std::string message = error_of([&] { ShardReader reader(path); });
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  };
  // Each width's version with the other's magic is refused, naming what goes together.
  check(expected_shard(20240520, 7, tokens, 2), "version 7, expected 1");
  check(expected_shard(20240520, 7, tokens, 2), "version 7 goes with magic 20240801");
  check(expected_shard(20240801, 1, tokens, 4), "version 1, expected 7");
  check(expected_shard(20240801, 1, tokens, 4), "version 1 goes with magic 20240520");
  // What kiln wrote before it followed llm.c's uint32 format.
  check(expected_shard(20240801, 2, tokens, 4), "version 2, expected 7");
  check(expected_shard(20240801, 2, tokens, 4), "kiln prepare");
  auto negative = expected_shard(20240520, 1, tokens, 2);
  negative[8] = negative[9] = negative[10] = negative[11] = 0xFF;
  check(negative, "negative token count -1");
  auto trailing = expected_shard(20240520, 1, tokens, 2);
  trailing.push_back(0);
  check(trailing, "trailing bytes");
  // uint16 data under the uint32 magic: the size no longer matches the count.
  check(expected_shard(20240801, 7, tokens, 2), "truncated");
}

TEST(Shards, MissingFileAndDirectoryAreErrors) {
  TemporaryDirectory dir;
  std::string message = error_of([&] { ShardReader reader(dir.path() / "none.bin"); });
  EXPECT_NE(message.find("none.bin: cannot open"), std::string::npos) << message;
  message = error_of([&] { ShardReader reader(dir.path()); });
  EXPECT_NE(message.find("not a regular file"), std::string::npos) << message;
  message = error_of([&] { write_shard(dir.path() / "no" / "dir.bin", {}, 10); });
  EXPECT_NE(message.find("cannot create"), std::string::npos) << message;
}

TEST(Shards, ReadOutsideTheShardIsAnError) {
  TemporaryDirectory dir;
  write_shard(dir.path() / "a.bin", std::vector<int64_t>{1, 2, 3}, 10);
  const ShardReader reader(dir.path() / "a.bin");
  std::vector<int64_t> out(4);
  EXPECT_NE(error_of([&] { reader.read(1, 3, out.data()); }).find("[1, 4) is outside"),
            std::string::npos);
  EXPECT_NE(error_of([&] { reader.read(-1, 1, out.data()); }).find("outside"), std::string::npos);
  reader.read(3, 0, out.data());
}

TEST(Shards, ReaderMoves) {
  TemporaryDirectory dir;
  write_shard(dir.path() / "a.bin", std::vector<int64_t>{1, 2, 3}, 10);
  write_shard(dir.path() / "b.bin", std::vector<int64_t>{4}, 10);
  std::vector<ShardReader> readers;
  readers.emplace_back(dir.path() / "a.bin");
  readers.emplace_back(dir.path() / "b.bin");
  ShardReader moved = std::move(readers[0]);
  EXPECT_EQ(read_all(moved), (std::vector<int64_t>{1, 2, 3}));
  moved = std::move(readers[1]);
  EXPECT_EQ(read_all(moved), std::vector<int64_t>{4});
  EXPECT_EQ(moved.path(), dir.path() / "b.bin");
}

}  // namespace
}  // namespace kiln
