// Tests against the real GPT-2 files and tiny-random-gpt2 in ../shared/data; they skip when it
// is absent (the project's own fixtures cover the same code without it).
#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/text/text_test_util.h"
#include "text/byte_level_bpe.h"

namespace kiln {
namespace {

using testing::error_of;
using testing::shared_data;

std::filesystem::path gpt2_dir() {
  return shared_data() / "gpt2-tokenizer";
}
std::filesystem::path tiny_dir() {
  return shared_data() / "tiny-random-gpt2";
}

#define SKIP_WITHOUT(dir) \
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << (dir).string() << " is absent"

TEST(Gpt2Tokenizer, KnownAnswers) {
  SKIP_WITHOUT(gpt2_dir());
  const std::unique_ptr<Tokenizer> gpt2 = load_tokenizer(gpt2_dir());
  EXPECT_EQ(gpt2->vocab_size(), 50257);
  EXPECT_EQ(gpt2->eos_id(), 50256);
  EXPECT_EQ(gpt2->encode("Hello, my dog is cute"),
            (std::vector<int64_t>{15496, 11, 616, 3290, 318, 13779}));
  EXPECT_EQ(gpt2->encode("hello world"), (std::vector<int64_t>{31373, 995}));
  EXPECT_EQ(gpt2->encode("<|endoftext|>"), std::vector<int64_t>{50256});
  EXPECT_EQ(gpt2->token_to_id("Ġthe"), 262);
  EXPECT_EQ(gpt2->decode({15496, 11, 616, 3290, 318, 13779}), "Hello, my dog is cute");
}

TEST(Gpt2Tokenizer, MatchesThePythonReference) {
  SKIP_WITHOUT(gpt2_dir());
  const std::unique_ptr<Tokenizer> gpt2 = load_tokenizer(gpt2_dir());
  for (const auto& [text, ids] :
       testing::vectors(testing::fixtures() / "gpt2_vectors.json", "gpt2")) {
    EXPECT_EQ(gpt2->encode(text), ids) << "text: " << text;
    EXPECT_EQ(gpt2->decode(ids), text);
  }
}

TEST(Gpt2Tokenizer, TinyShakespeare) {
  const auto file = shared_data() / "tinyshakespeare" / "input.txt";
  SKIP_WITHOUT(gpt2_dir());
  SKIP_WITHOUT(file.parent_path());
  const std::unique_ptr<Tokenizer> gpt2 = load_tokenizer(gpt2_dir());
  const std::string text = read_text_file(file, "test");
  const std::vector<int64_t> ids = gpt2->encode(text);
  // The count encoder.py gives (and nanoGPT's prepare.py: 301,966 + 36,059).
  EXPECT_EQ(ids.size(), 338025u);
  EXPECT_EQ(std::vector<int64_t>(ids.begin(), ids.begin() + 4),
            (std::vector<int64_t>{5962, 22307, 25, 198}));
  EXPECT_EQ(gpt2->decode(ids), text);
}

TEST(Gpt2Tokenizer, TinyRandomGpt2FilesAgree) {
  SKIP_WITHOUT(tiny_dir());
  // tokenizer.json is preferred by load_tokenizer; vocab.json + merges.txt hold the same model.
  const std::unique_ptr<Tokenizer> from_json = load_tokenizer(tiny_dir());
  const ByteLevelBpe from_pair =
      ByteLevelBpe::load(tiny_dir() / "vocab.json", tiny_dir() / "merges.txt");
  EXPECT_EQ(from_json->vocab_size(), 1000);
  EXPECT_EQ(from_json->eos_id(), 0);
  EXPECT_EQ(from_pair.eos_id(), 0);
  const std::string text = "The quick brown fox jumps over the lazy dog.\nHello, world! 42";
  EXPECT_EQ(from_json->encode(text), from_pair.encode(text));
  EXPECT_EQ(from_json->decode(from_json->encode(text)), text);
  // 63 byte symbols are missing from this vocabulary ('{' among them) and it has no unk token.
  const std::string message = error_of([&] { from_json->encode("a {"); });
  EXPECT_NE(message.find("byte 0x7B at byte offset 2"), std::string::npos) << message;
  EXPECT_NE(message.find("lacks 63 of the 256"), std::string::npos) << message;
}

}  // namespace
}  // namespace kiln
