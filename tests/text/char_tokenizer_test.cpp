#include "text/char_tokenizer.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/text/text_test_util.h"

namespace kiln {
namespace {

using testing::error_of;
using testing::TemporaryDirectory;

TEST(CharTokenizer, VocabularyIsTheSortedCodePointsOfTheCorpus) {
  const CharTokenizer tokenizer = CharTokenizer::from_corpus("été à la mer\n");
  const std::vector<char32_t> expected = {U'\n', U' ', U'a', U'e', U'l',
                                          U'm',  U'r', U't', U'à', U'é'};
  EXPECT_EQ(tokenizer.characters(), expected);
  EXPECT_EQ(tokenizer.vocab_size(), 10);
  EXPECT_EQ(tokenizer.encode("été"), (std::vector<int64_t>{9, 7, 9}));
  EXPECT_EQ(tokenizer.decode({9, 7, 9, 1, 8}), "été à");
  EXPECT_EQ(tokenizer.token_to_id("é"), 9);
  EXPECT_EQ(tokenizer.token_to_id("ét"), std::nullopt);
  EXPECT_EQ(tokenizer.token_to_id("z"), std::nullopt);
  EXPECT_EQ(tokenizer.id_to_token(8), "à");
  EXPECT_EQ(tokenizer.eos_id(), std::nullopt);
}

TEST(CharTokenizer, RoundTripsRandomText) {
  std::mt19937 rng(7);
  const std::string corpus = testing::random_utf8(rng, 5000);
  const CharTokenizer tokenizer = CharTokenizer::from_corpus(corpus);
  const std::vector<int64_t> ids = tokenizer.encode(corpus);
  EXPECT_EQ(tokenizer.decode(ids), corpus);
  for (const int64_t id : ids) ASSERT_LT(id, tokenizer.vocab_size());
}

TEST(CharTokenizer, UnknownCharacterNamesItAndItsPosition) {
  const CharTokenizer tokenizer = CharTokenizer::from_corpus("abc é");
  const std::string message = error_of([&] { tokenizer.encode("ab é ü"); });
  EXPECT_NE(message.find("[char_tokenizer]"), std::string::npos) << message;
  EXPECT_NE(message.find("'ü' (U+00FC)"), std::string::npos) << message;
  EXPECT_NE(message.find("byte offset 6 (character 5)"), std::string::npos) << message;
  EXPECT_NE(error_of([&] { tokenizer.encode("a\tb"); }).find("U+0009 at byte offset 1"),
            std::string::npos);
}

TEST(CharTokenizer, RejectsInvalidUtf8AndBadIds) {
  const CharTokenizer tokenizer = CharTokenizer::from_corpus("abc");
  EXPECT_NE(error_of([&] { tokenizer.encode("ab\xFF"); }).find("invalid UTF-8 at byte offset 2"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              tokenizer.decode({0, 3});
            }).find("id 3 at position 1"),
            std::string::npos);
  EXPECT_THROW(tokenizer.decode({-1}), Error);
  EXPECT_THROW(tokenizer.id_to_token(3), Error);
  EXPECT_THROW(CharTokenizer::from_corpus(""), Error);
  EXPECT_THROW(CharTokenizer::from_corpus("a\xC3"), Error);
  EXPECT_THROW(CharTokenizer({U'a', U'a'}), Error);
  EXPECT_THROW(CharTokenizer({static_cast<char32_t>(0xD800)}), Error);
}

TEST(CharTokenizer, SavesAndLoadsThroughLoadTokenizer) {
  TemporaryDirectory dir;
  const CharTokenizer tokenizer = CharTokenizer::from_corpus("Où est l'été ?\n\"quote\" \\ 😀");
  tokenizer.save(dir.path());
  ASSERT_TRUE(std::filesystem::exists(dir.path() / "char_tokenizer.json"));
  const std::unique_ptr<Tokenizer> loaded = load_tokenizer(dir.path());
  ASSERT_NE(dynamic_cast<const CharTokenizer*>(loaded.get()), nullptr);
  EXPECT_EQ(dynamic_cast<const CharTokenizer&>(*loaded).characters(), tokenizer.characters());
  const std::string text = "l'été 😀 \"Où\"\n";
  EXPECT_EQ(loaded->encode(text), tokenizer.encode(text));
  // Nothing but the file itself is left behind (the temporary file was renamed).
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                          std::filesystem::directory_iterator()),
            1);
}

TEST(CharTokenizer, CorruptFilesNameTheFile) {
  TemporaryDirectory dir;
  const auto file = dir.path() / "char_tokenizer.json";
  const auto write = [&](const std::string& text) { write_file_atomically(file, text, "test"); };
  const auto expect_error = [&](const std::string& fragment) {
    const std::string message = error_of([&] { load_tokenizer(dir.path()); });
    EXPECT_NE(message.find(file.string()), std::string::npos) << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << message;
  };
  write("{\"type\": \"char\", ");
  expect_error("not valid JSON");
  write(R"({"type": "bpe", "version": 1, "characters": ["a"]})");
  expect_error("\"type\": \"char\"");
  write(R"({"type": "char", "version": 2, "characters": ["a"]})");
  expect_error("version 2");
  write(R"({"type": "char", "version": 1, "characters": ["a", "bc"]})");
  expect_error("entry 1");
  write(R"({"type": "char", "version": 1, "characters": ["a", 3]})");
  expect_error("unexpected structure");
  write(R"({"type": "char", "version": 1, "characters": []})");
  expect_error("empty");
  write(R"({"type": "char", "version": 1, "characters": ["a", "a"]})");
  expect_error("appears twice");
}

}  // namespace
}  // namespace kiln
