#include "text/byte_level_bpe.h"

#include <gtest/gtest.h>

#include <thread>

#include "core/error.h"
#include "tests/text/text_test_util.h"
#include "text/utf8.h"

namespace kiln {
namespace {

using testing::error_of;
using testing::fixtures;
using testing::TemporaryDirectory;

ByteLevelBpe small_bpe() {
  return ByteLevelBpe::load(fixtures() / "small_bpe" / "vocab.json",
                            fixtures() / "small_bpe" / "merges.txt");
}

bool contains(const std::string& message, const std::string& fragment) {
  return message.find(fragment) != std::string::npos;
}

// Words of a small vocabulary, joined at random with spaces, punctuation, digits and newlines.
std::string generated_text(size_t bytes, uint32_t seed) {
  static const char* kWords[] = {"the",   "tokenizer", "learns", "merges", "été",   "élève",
                                 "中文",  "😀",         "don't",  "it's",   "12345", "3.14",
                                 "HELLO", "naïve",     "über",   "x"};
  std::mt19937 rng(seed);
  std::string text;
  while (text.size() < bytes) {
    text += kWords[rng() % std::size(kWords)];
    const uint32_t r = rng() % 20;
    text += r == 0 ? "\n\n" : r == 1 ? ", " : r == 2 ? "   " : r == 3 ? "<|endoftext|>" : " ";
  }
  return text;
}

TEST(ByteLevelBpe, MatchesThePythonReference) {
  const ByteLevelBpe bpe = small_bpe();
  const auto cases = testing::vectors(fixtures() / "bpe_vectors.json", "small_bpe");
  ASSERT_GE(cases.size(), 60u);
  for (const auto& [text, ids] : cases) {
    EXPECT_EQ(bpe.encode(text), ids) << "text: " << text;
    EXPECT_EQ(bpe.decode(ids), text);
  }
}

TEST(ByteLevelBpe, VocabularyFollowsGpt2sLayout) {
  const ByteLevelBpe bpe = small_bpe();
  EXPECT_EQ(bpe.vocab_size(), 577);
  EXPECT_EQ(bpe.eos_id(), 576);
  EXPECT_EQ(bpe.special_tokens(), std::vector<std::string>{"<|endoftext|>"});
  // Bytes are numbered in bytes_to_unicode order, as in GPT-2: '!' is 0, a space ('Ġ') 220.
  EXPECT_EQ(bpe.token_to_id("!"), 0);
  EXPECT_EQ(bpe.token_to_id("Ġ"), 220);
  EXPECT_EQ(bpe.token_to_id("Ċ"), 198);
  EXPECT_EQ(bpe.id_to_token(576), "<|endoftext|>");
  EXPECT_EQ(bpe.token_to_id("not a token"), std::nullopt);
  EXPECT_EQ(bpe.merges().size(), 320u);
  EXPECT_THROW(bpe.id_to_token(577), Error);
  EXPECT_THROW(bpe.id_to_token(-1), Error);
}

TEST(ByteLevelBpe, RoundTripsRandomUtf8) {
  const ByteLevelBpe bpe = small_bpe();
  std::mt19937 rng(1234);
  for (int i = 0; i < 300; ++i) {
    std::string text = testing::random_utf8(rng, rng() % 200);
    if (i % 3 == 0) text += "<|endoftext|>" + testing::random_utf8(rng, rng() % 50);
    const std::vector<int64_t> ids = bpe.encode(text);
    ASSERT_EQ(bpe.decode(ids), text);
    ASSERT_EQ(bpe.decode(bpe.encode_ordinary(text)), text);
    for (const int64_t id : ids) ASSERT_TRUE(id >= 0 && id < bpe.vocab_size());
  }
}

TEST(ByteLevelBpe, SpecialTokensAreSplitOutUnlessOrdinary) {
  const ByteLevelBpe bpe = small_bpe();
  EXPECT_EQ(bpe.encode("<|endoftext|>"), std::vector<int64_t>{576});
  const std::vector<int64_t> ordinary = bpe.encode_ordinary("<|endoftext|>");
  EXPECT_GT(ordinary.size(), 1u);
  EXPECT_EQ(std::count(ordinary.begin(), ordinary.end(), 576), 0);
  EXPECT_EQ(bpe.decode(ordinary), "<|endoftext|>");
  const std::vector<int64_t> ids = bpe.encode("a<|endoftext|>b");
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[1], 576);
}

TEST(ByteLevelBpe, InvalidUtf8IsAnErrorNamingTheOffset) {
  const ByteLevelBpe bpe = small_bpe();
  const std::pair<std::string, size_t> cases[] = {
      {"abc\xFF", 3},             // never valid
      {"x\xC3(", 1},              // continuation missing
      {"\xC0\xAF", 0},            // overlong '/'
      {"ok \xED\xA0\x80", 3},     // a surrogate
      {"\xF4\x90\x80\x80", 0},    // above U+10FFFF
      {"\xE2\x82", 0},            // truncated at the end
      {"\x80", 0},                // a lone continuation byte
      {"été\xE9t\xE9", 5},        // Latin-1, not UTF-8
      {"<|endoftext|>\xFE", 13},  // after a special token
  };
  for (const auto& [text, offset] : cases) {
    const std::string message = error_of([&] { bpe.encode(text); });
    EXPECT_TRUE(contains(message, "[bpe] invalid UTF-8 at byte offset " + std::to_string(offset)))
        << message;
    EXPECT_THROW(bpe.encode_ordinary(text), Error);
  }
}

TEST(ByteLevelBpe, RandomBytesNeverCrash) {
  const ByteLevelBpe bpe = small_bpe();
  std::mt19937 rng(99);
  int valid = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string bytes(rng() % 12, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() % 4 == 0 ? rng() % 256 : 0x80 + rng() % 64);
    if (!utf8::find_invalid(bytes)) {
      ++valid;
      EXPECT_EQ(bpe.decode(bpe.encode(bytes)), bytes);
    } else {
      EXPECT_THROW(bpe.encode(bytes), Error);
    }
  }
  EXPECT_GT(valid, 10);
}

TEST(ByteLevelBpe, DecodeGivesExactBytesAndRejectsUnknownIds) {
  const ByteLevelBpe bpe = small_bpe();
  // The four bytes of an emoji, decoded one id at a time: bytes, not characters.
  const std::string emoji = "\xF0\x9F\xA6\x8A";  // U+1F98A, not in the training corpus
  const std::vector<int64_t> ids = bpe.encode(emoji);
  std::string joined;
  for (const int64_t id : ids) joined += bpe.decode({id});
  EXPECT_EQ(joined, emoji);
  EXPECT_EQ(bpe.decode({*bpe.token_to_id("ð")}), "\xF0");
  EXPECT_TRUE(contains(error_of([&] { bpe.decode({1, 577}); }), "id 577 at position 1"));
  EXPECT_THROW(bpe.decode({-3}), Error);
}

TEST(ByteLevelBpe, MergesFollowEncoderPy) {
  // Every occurrence of the best pair merges left to right before any other pair, even when
  // the merge creates a pair of lower rank ("ab a" ranks first here).
  const ByteLevelBpe bpe({"a", "b", "ab", "aba", "aa"}, {{"ab", "a"}, {"a", "b"}, {"a", "a"}});
  EXPECT_EQ(bpe.encode("ababa"), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(bpe.encode("aaa"), (std::vector<int64_t>{4, 0}));
  EXPECT_EQ(bpe.encode("aaaa"), (std::vector<int64_t>{4, 4}));
  // No byte symbol for 'c' and no unk token: an error naming the byte and where it is.
  const std::string message = error_of([&] { bpe.encode("abc"); });
  EXPECT_TRUE(contains(message, "byte 0x63 at byte offset 2 has no token")) << message;
  // The space ('Ġ') is missing too.
  EXPECT_TRUE(contains(error_of([&] { bpe.encode("a b"); }), "byte 0x20 at byte offset 1"));
  const ByteLevelBpe with_unk({"a", "b", "ab", "<unk>"}, {{"a", "b"}}, {}, "<unk>");
  EXPECT_EQ(with_unk.encode("abc"), (std::vector<int64_t>{2, 3}));
}

TEST(ByteLevelBpe, LongWordsAndWhitespaceRuns) {
  const ByteLevelBpe bpe = small_bpe();
  for (const std::string& text :
       {std::string(1 << 20, 'a'), std::string(300000, ' ') + "x", std::string(100000, '\n'),
        "ab" + std::string(200000, 'b'), std::string(50000, '.') + "é"}) {
    const std::vector<int64_t> ids = bpe.encode(text);
    EXPECT_EQ(bpe.decode(ids), text);
    EXPECT_LE(ids.size(), text.size());
  }
}

TEST(ByteLevelBpe, EncodesAMegabyteOfGeneratedText) {
  const ByteLevelBpe bpe = small_bpe();
  const std::string text = generated_text(1 << 20, 5);
  const std::vector<int64_t> ids = bpe.encode(text);
  EXPECT_EQ(bpe.decode(ids), text);
  EXPECT_LT(ids.size(), text.size() / 2);
  // The word cache does not change results: the same text encodes the same way again.
  EXPECT_EQ(bpe.encode(text), ids);
}

TEST(ByteLevelBpe, ConcurrentEncodesAgree) {
  const ByteLevelBpe bpe = small_bpe();
  std::vector<std::string> texts;
  for (uint32_t i = 0; i < 4; ++i) texts.push_back(generated_text(100000, 10 + i));
  std::vector<std::vector<int64_t>> results(texts.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < texts.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = bpe.encode(texts[i]); });
  }
  for (std::thread& t : threads) t.join();
  const ByteLevelBpe fresh = small_bpe();
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(results[i], fresh.encode(texts[i]));
}

TEST(ByteLevelBpe, SavesAndLoads) {
  TemporaryDirectory dir;
  const ByteLevelBpe bpe = small_bpe();
  bpe.save(dir.path());
  const std::unique_ptr<Tokenizer> loaded = load_tokenizer(dir.path());
  const auto* reloaded = dynamic_cast<const ByteLevelBpe*>(loaded.get());
  ASSERT_NE(reloaded, nullptr);
  EXPECT_EQ(reloaded->merges(), bpe.merges());
  ASSERT_EQ(reloaded->vocab_size(), bpe.vocab_size());
  for (int64_t id = 0; id < bpe.vocab_size(); ++id) {
    ASSERT_EQ(reloaded->id_to_token(id), bpe.id_to_token(id));
  }
  EXPECT_EQ(reloaded->special_tokens(), bpe.special_tokens());
  const std::string text = generated_text(20000, 3);
  EXPECT_EQ(reloaded->encode(text), bpe.encode(text));
  // merges.txt is byte-for-byte the fixture (same header, same lines).
  EXPECT_EQ(read_text_file(dir.path() / "merges.txt", "test"),
            read_text_file(fixtures() / "small_bpe" / "merges.txt", "test"));
}

TEST(ByteLevelBpe, CorruptFilesNameTheFile) {
  TemporaryDirectory dir;
  const auto vocab = dir.path() / "vocab.json";
  const auto merges = dir.path() / "merges.txt";
  const auto expect_error = [&](const std::string& vocab_text, const std::string& merges_text,
                                const std::string& fragment) {
    write_file_atomically(vocab, vocab_text, "test");
    write_file_atomically(merges, merges_text, "test");
    const std::string message = error_of([&] { load_tokenizer(dir.path()); });
    EXPECT_TRUE(contains(message, fragment)) << message;
    EXPECT_TRUE(contains(message, dir.path().string())) << message;
  };
  const std::string ok_vocab = R"({"a": 0, "b": 1, "ab": 2})";
  expect_error("{\"a\": 0,", "", "vocab.json is not valid JSON");
  expect_error("[1, 2]", "", "vocab.json: the vocabulary must be a JSON object");
  expect_error(R"({"a": "zero"})", "", "the id of 'a' is \"zero\", not an integer");
  expect_error(R"({"a": 0, "b": 5})", "", "token 'b' has id 5, outside 0..1");
  expect_error(R"({"a": 0, "b": 0})", "", "id 0 is given to both");
  expect_error(ok_vocab, "#version: 0.2\na b\nab\n", "merges.txt line 3: expected two tokens");
  expect_error(ok_vocab, "a  b\n", "merges.txt line 1");
  expect_error(ok_vocab, "a c\n", "merge 1 ('a c'): 'c' is not in the vocabulary");
  expect_error(R"({"a": 0, "b": 1})", "a b\n", "'ab' is not in the vocabulary");
  expect_error(R"({"a": 0, "": 1})", "", "token 1 is the empty string");
  // Good files load, with or without the version line and with Windows line ends.
  write_file_atomically(vocab, ok_vocab, "test");
  write_file_atomically(merges, "a b\r\n", "test");
  EXPECT_EQ(load_tokenizer(dir.path())->encode("abab"), (std::vector<int64_t>{2, 2}));
}

}  // namespace
}  // namespace kiln
