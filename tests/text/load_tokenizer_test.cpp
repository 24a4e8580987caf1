#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/text/text_test_util.h"
#include "text/byte_level_bpe.h"

namespace kiln {
namespace {

using testing::error_of;
using testing::fixtures;
using testing::TemporaryDirectory;

bool contains(const std::string& message, const std::string& fragment) {
  return message.find(fragment) != std::string::npos;
}

void copy_fixture(const std::filesystem::path& from, const std::filesystem::path& to) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
}

TEST(LoadTokenizer, MissingDirectoryOrFilesNameThePath) {
  TemporaryDirectory dir;
  const auto missing = dir.path() / "nowhere";
  std::string message = error_of([&] { load_tokenizer(missing); });
  EXPECT_TRUE(
      contains(message, "[tokenizer] tokenizer directory " + missing.string() + " does not exist"))
      << message;

  message = error_of([&] { load_tokenizer(dir.path()); });
  EXPECT_TRUE(contains(message, "no tokenizer in " + dir.path().string())) << message;
  EXPECT_TRUE(contains(message, "vocab.json + merges.txt")) << message;

  copy_fixture(fixtures() / "small_bpe" / "vocab.json", dir.path() / "vocab.json");
  message = error_of([&] { load_tokenizer(dir.path()); });
  EXPECT_TRUE(contains(message, "has vocab.json but no " + (dir.path() / "merges.txt").string()))
      << message;

  std::filesystem::remove(dir.path() / "vocab.json");
  copy_fixture(fixtures() / "small_bpe" / "merges.txt", dir.path() / "vocab.bpe");
  message = error_of([&] { load_tokenizer(dir.path()); });
  EXPECT_TRUE(contains(message, "has vocab.bpe but no " + (dir.path() / "encoder.json").string()))
      << message;

  const auto file = dir.path() / "vocab.bpe";
  message = error_of([&] { load_tokenizer(file); });
  EXPECT_TRUE(contains(message, file.string() + " is not a directory")) << message;
}

TEST(LoadTokenizer, ReadsOpenAisLayout) {
  TemporaryDirectory dir;
  copy_fixture(fixtures() / "small_bpe" / "vocab.json", dir.path() / "encoder.json");
  copy_fixture(fixtures() / "small_bpe" / "merges.txt", dir.path() / "vocab.bpe");
  const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(dir.path());
  for (const auto& [text, ids] : testing::vectors(fixtures() / "bpe_vectors.json", "small_bpe")) {
    EXPECT_EQ(tokenizer->encode(text), ids) << "text: " << text;
  }
}

TEST(LoadTokenizer, PrefersTokenizerJson) {
  TemporaryDirectory dir;
  copy_fixture(fixtures() / "small_bpe" / "vocab.json", dir.path() / "vocab.json");
  copy_fixture(fixtures() / "small_bpe" / "merges.txt", dir.path() / "merges.txt");
  EXPECT_EQ(load_tokenizer(dir.path())->token_to_id("<|pad|>"), std::nullopt);
  copy_fixture(fixtures() / "small_tokenizer" / "tokenizer.json", dir.path() / "tokenizer.json");
  EXPECT_EQ(load_tokenizer(dir.path())->token_to_id("<|pad|>"), 577);
}

}  // namespace
}  // namespace kiln
