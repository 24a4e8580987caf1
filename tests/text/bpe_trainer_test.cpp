#include "text/bpe_trainer.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/text/text_test_util.h"

namespace kiln {
namespace {

using testing::error_of;
using testing::fixtures;
using testing::TemporaryDirectory;

// The settings scripts/make_tokenizer_fixtures.py trains small_bpe with.
BpeTrainerOptions fixture_options() {
  BpeTrainerOptions options;
  options.vocab_size = 600;
  options.special_tokens = {"<|endoftext|>"};
  options.min_frequency = 2;
  return options;
}

std::string corpus() {
  return read_text_file(fixtures() / "train_corpus.txt", "test");
}

ByteLevelBpe reference() {
  return ByteLevelBpe::load(fixtures() / "small_bpe" / "vocab.json",
                            fixtures() / "small_bpe" / "merges.txt");
}

TEST(BpeTrainer, ReproducesThePythonTrainer) {
  const ByteLevelBpe trained = train_byte_level_bpe(corpus(), fixture_options());
  const ByteLevelBpe expected = reference();
  // The corpus runs out of pairs seen twice before 600 tokens: 256 + 320 merges + 1 special.
  EXPECT_EQ(trained.merges(), expected.merges());
  ASSERT_EQ(trained.vocab_size(), expected.vocab_size());
  for (int64_t id = 0; id < trained.vocab_size(); ++id) {
    ASSERT_EQ(trained.id_to_token(id), expected.id_to_token(id)) << "id " << id;
  }
  EXPECT_EQ(trained.eos_id(), expected.eos_id());
  for (const auto& [text, ids] : testing::vectors(fixtures() / "bpe_vectors.json", "small_bpe")) {
    EXPECT_EQ(trained.encode(text), ids) << "text: " << text;
  }
}

TEST(BpeTrainer, VocabSizeCutsTheSameMergeSequence) {
  BpeTrainerOptions options = fixture_options();
  options.vocab_size = 400;
  const ByteLevelBpe trained = train_byte_level_bpe(corpus(), options);
  EXPECT_EQ(trained.vocab_size(), 400);
  const std::vector<ByteLevelBpe::Merge> all = reference().merges();
  EXPECT_EQ(trained.merges(), std::vector<ByteLevelBpe::Merge>(all.begin(), all.begin() + 143));
  EXPECT_EQ(trained.id_to_token(399), "<|endoftext|>");

  // With min_frequency 1 it goes on to the requested size, with pairs seen once.
  options.vocab_size = 650;
  options.min_frequency = 1;
  EXPECT_EQ(train_byte_level_bpe(corpus(), options).vocab_size(), 650);
}

TEST(BpeTrainer, TrainedTokenizerRoundTripsAndReloads) {
  std::mt19937 rng(11);
  std::string text;
  for (int i = 0; i < 200; ++i) {
    text += testing::random_utf8(rng, 50) + " the cat sat on the mat. Le chat est là. ";
  }
  BpeTrainerOptions options;
  options.vocab_size = 700;
  options.special_tokens = {"<|endoftext|>", "<|pad|>"};
  const ByteLevelBpe trained = train_byte_level_bpe(text, options);
  EXPECT_EQ(trained.vocab_size(), 700);
  EXPECT_EQ(trained.token_to_id("<|pad|>"), 699);
  EXPECT_EQ(trained.eos_id(), 698);
  for (int i = 0; i < 100; ++i) {
    const std::string s = testing::random_utf8(rng, rng() % 100) + "<|pad|> the cat";
    ASSERT_EQ(trained.decode(trained.encode(s)), s);
  }
  // The phrase repeated 200 times is learned: one token for each of its 12 words.
  EXPECT_EQ(trained.encode(" the cat sat on the mat. Le chat est là.").size(), 12u);

  TemporaryDirectory dir;
  trained.save(dir.path());
  const std::unique_ptr<Tokenizer> loaded = load_tokenizer(dir.path());
  EXPECT_EQ(loaded->encode(text), trained.encode(text));
  EXPECT_EQ(loaded->token_to_id("<|pad|>"), 699);
}

TEST(BpeTrainer, SpecialTokensInTheCorpusAreNotLearned) {
  BpeTrainerOptions options;
  options.vocab_size = 300;
  const ByteLevelBpe trained =
      train_byte_level_bpe("<|endoftext|><|endoftext|>ab<|endoftext|>ab<|endoftext|>", options);
  EXPECT_EQ(trained.merges(), (std::vector<ByteLevelBpe::Merge>{{"a", "b"}}));
  EXPECT_EQ(trained.vocab_size(), 258);
}

TEST(BpeTrainer, BadOptionsAndCorpora) {
  BpeTrainerOptions options;
  options.vocab_size = 256;
  EXPECT_NE(error_of([&] { train_byte_level_bpe("abc", options); }).find("vocab_size 256"),
            std::string::npos);
  options.vocab_size = 300;
  options.special_tokens = {"<|a|>", "<|a|>"};
  EXPECT_NE(error_of([&] { train_byte_level_bpe("abc", options); }).find("given twice"),
            std::string::npos);
  options.special_tokens = {""};
  EXPECT_THROW(train_byte_level_bpe("abc", options), Error);
  // Special tokens are cut out of the corpus, but one may still equal a learned token string.
  options.special_tokens = {"Ġab"};
  EXPECT_NE(error_of([&] { train_byte_level_bpe("ab ab ab", options); }).find("also a token"),
            std::string::npos);
  options.special_tokens = {};
  options.min_frequency = 0;
  EXPECT_THROW(train_byte_level_bpe("abc", options), Error);
  options.min_frequency = 2;
  EXPECT_NE(error_of([&] {
              train_byte_level_bpe("ab\xC3", options);
            }).find("[bpe_trainer] invalid UTF-8 at byte offset 2"),
            std::string::npos);
  // An empty corpus gives the 256 bytes alone.
  EXPECT_EQ(train_byte_level_bpe("", options).vocab_size(), 256);
}

}  // namespace
}  // namespace kiln
