#include "text/prepare.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "tests/text/text_test_util.h"
#include "text/byte_level_bpe.h"
#include "text/char_tokenizer.h"
#include "text/shards.h"
#include "text/tokenizer.h"

namespace kiln {
namespace {

using testing::error_of;
using testing::fixtures;
using testing::TemporaryDirectory;

void write_text(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

std::vector<int64_t> read_shards(const std::vector<std::filesystem::path>& shards) {
  std::vector<int64_t> out;
  for (const auto& path : shards) {
    const ShardReader reader(path);
    const size_t begin = out.size();
    out.resize(begin + static_cast<size_t>(reader.size()));
    reader.read(0, reader.size(), out.data() + begin);
  }
  return out;
}

std::vector<int64_t> concat(std::vector<int64_t> a, const std::vector<int64_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<std::string> names_in(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Text where whitespace runs, line ends of both kinds and non-ASCII characters meet chunk cuts.
std::string tricky_text() {
  return "First line.\nSecond  line,\tand tabs\t\n\n\nAfter three newlines.\r\nCRLF line\r\n"
         "  indented\n \n trailing spaces   \nCafé über naïve — “quotes” 中文 😀\n"
         "don't it's we'll <|endoftext|> after the special token\nx\ny z\n" +
         std::string(300, 'a') + "\nlast line without newline";
}

ByteLevelBpe small_bpe() {
  return ByteLevelBpe::load(fixtures() / "small_bpe" / "vocab.json",
                            fixtures() / "small_bpe" / "merges.txt");
}

TEST(Prepare, CharTokenizerDirectoryOfDocuments) {
  TemporaryDirectory tmp;
  const auto input = tmp.path() / "corpus";
  std::filesystem::create_directories(input);
  const std::string a = "To be, or not to be: that is the question.\n";
  const std::string b = "Ô fortuné! L'été à Paris.\n";
  // Sorted by name, not by creation order; hidden files are skipped.
  write_text(input / "b.txt", b);
  write_text(input / "a.txt", a);
  write_text(input / ".hidden", "\xff not text");

  PrepareOptions options;
  options.input = input;
  options.output = tmp.path() / "out";
  const PrepareResult result = prepare_shards(options);

  ASSERT_TRUE(std::filesystem::exists(options.output / "char_tokenizer.json"));
  const auto tokenizer = load_tokenizer(options.output);
  const std::vector<int64_t> all =
      concat(read_shards(result.train_shards), read_shards(result.val_shards));
  EXPECT_EQ(tokenizer->decode(all), a + b);
  EXPECT_EQ(all, tokenizer->encode(a + b));
  const auto total = static_cast<int64_t>(all.size());
  EXPECT_EQ(result.val_tokens, std::llround(total * 0.1));
  EXPECT_EQ(result.train_tokens + result.val_tokens, total);
  EXPECT_EQ(result.documents, 2);
  EXPECT_EQ(result.tokenizer_kind, "char");
  EXPECT_FALSE(result.eos_id.has_value());
  EXPECT_EQ(result.vocab_size, tokenizer->vocab_size());
  ASSERT_EQ(result.train_shards.size(), 1u);
  ASSERT_EQ(result.val_shards.size(), 1u);
  EXPECT_EQ(result.train_shards[0], options.output / "train_000000.bin");
  EXPECT_EQ(result.val_shards[0], options.output / "val_000000.bin");
  // The val shard holds the last val_tokens characters of the stream.
  const std::string val_text = tokenizer->decode(read_shards(result.val_shards));
  EXPECT_TRUE((a + b).ends_with(val_text)) << val_text;
  EXPECT_EQ(std::count_if(val_text.begin(), val_text.end(),
                          [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }),
            result.val_tokens);

  const nlohmann::json meta = read_json_file(options.output / "meta.json", "test");
  EXPECT_EQ(meta["tokenizer"]["kind"], "char");
  EXPECT_EQ(meta["tokenizer"]["path"], ".");
  EXPECT_EQ(meta["vocab_size"], tokenizer->vocab_size());
  EXPECT_TRUE(meta["eos_id"].is_null());
  EXPECT_EQ(meta["train_tokens"], result.train_tokens);
  EXPECT_EQ(meta["val_tokens"], result.val_tokens);
  EXPECT_EQ(meta["documents"], 2);
  EXPECT_EQ(meta["token_dtype"], "uint16");
  EXPECT_EQ(meta["train_shards"], nlohmann::json({"train_000000.bin"}));
  EXPECT_EQ(meta["val_shards"], nlohmann::json({"val_000000.bin"}));
  EXPECT_EQ(meta["source"], std::filesystem::absolute(input).lexically_normal().string());
  EXPECT_EQ(names_in(options.output),
            (std::vector<std::string>{"char_tokenizer.json", "meta.json", "train_000000.bin",
                                      "val_000000.bin"}));
}

TEST(Prepare, ValSplitIsTheEndOfTheStream) {
  TemporaryDirectory tmp;
  const std::string text = "abcdefghijklmnopqrst";  // 20 characters, 20 tokens
  write_text(tmp.path() / "in.txt", text);
  PrepareOptions options;
  options.input = tmp.path() / "in.txt";
  options.output = tmp.path() / "out";
  options.val_fraction = 0.25;
  const PrepareResult result = prepare_shards(options);
  const auto tokenizer = load_tokenizer(options.output);
  EXPECT_EQ(result.train_tokens, 15);
  EXPECT_EQ(result.val_tokens, 5);
  EXPECT_EQ(tokenizer->decode(read_shards(result.train_shards)), "abcdefghijklmno");
  EXPECT_EQ(tokenizer->decode(read_shards(result.val_shards)), "pqrst");
}

TEST(Prepare, ZeroValFractionWritesNoValShard) {
  TemporaryDirectory tmp;
  write_text(tmp.path() / "in.txt", "hello world\n");
  PrepareOptions options;
  options.input = tmp.path() / "in.txt";
  options.output = tmp.path() / "out";
  options.val_fraction = 0;
  const PrepareResult result = prepare_shards(options);
  EXPECT_EQ(result.val_tokens, 0);
  EXPECT_TRUE(result.val_shards.empty());
  EXPECT_EQ(result.train_tokens, 12);
  EXPECT_FALSE(std::filesystem::exists(options.output / "val_000000.bin"));
  EXPECT_TRUE(read_json_file(options.output / "meta.json", "test")["val_shards"].empty());
}

TEST(Prepare, ShardsAreBalancedAndBoundedByShardTokens) {
  TemporaryDirectory tmp;
  write_text(tmp.path() / "in.txt", std::string(23, 'x') + std::string(10, 'y'));
  PrepareOptions options;
  options.input = tmp.path() / "in.txt";
  options.output = tmp.path() / "out";
  options.shard_tokens = 7;
  options.val_fraction = 0.3;  // 33 tokens: 23 train, 10 val
  const PrepareResult result = prepare_shards(options);
  std::vector<int64_t> train_sizes, val_sizes;
  for (const auto& p : result.train_shards) train_sizes.push_back(ShardReader(p).size());
  for (const auto& p : result.val_shards) val_sizes.push_back(ShardReader(p).size());
  EXPECT_EQ(train_sizes, (std::vector<int64_t>{6, 6, 6, 5}));
  EXPECT_EQ(val_sizes, (std::vector<int64_t>{5, 5}));
  EXPECT_EQ(result.train_shards.back(), options.output / "train_000003.bin");
  EXPECT_EQ(result.val_shards.back(), options.output / "val_000001.bin");
  const auto tokenizer = load_tokenizer(options.output);
  EXPECT_EQ(tokenizer->decode(read_shards(result.train_shards)), std::string(23, 'x'));
  EXPECT_EQ(tokenizer->decode(read_shards(result.val_shards)), std::string(10, 'y'));
}

TEST(Prepare, BpeSeparatesDocumentsWithEos) {
  TemporaryDirectory tmp;
  const auto input = tmp.path() / "docs";
  std::filesystem::create_directories(input);
  const std::string one = "The quick brown fox jumps over the lazy dog.\n";
  const std::string two = "It's 2024, and they're all asleep.";
  write_text(input / "01.txt", one);
  write_text(input / "02.txt", two);
  write_text(input / "03.txt", "");  // an empty document adds nothing, not even EOS
  PrepareOptions options;
  options.input = input;
  options.output = tmp.path() / "out";
  options.tokenizer = (fixtures() / "small_bpe").string();
  options.val_fraction = 0;
  const PrepareResult result = prepare_shards(options);

  const ByteLevelBpe bpe = small_bpe();
  ASSERT_TRUE(bpe.eos_id().has_value());
  const int64_t eos = *bpe.eos_id();
  std::vector<int64_t> expected = {eos};
  expected = concat(expected, bpe.encode(one));
  expected.push_back(eos);
  expected = concat(expected, bpe.encode(two));
  EXPECT_EQ(read_shards(result.train_shards), expected);
  EXPECT_EQ(result.documents, 2);
  EXPECT_EQ(result.eos_id, eos);
  EXPECT_EQ(result.tokenizer_kind, "byte_level_bpe");
  EXPECT_FALSE(std::filesystem::exists(options.output / "char_tokenizer.json"));
  const nlohmann::json meta = read_json_file(options.output / "meta.json", "test");
  EXPECT_EQ(meta["eos_id"], eos);
  EXPECT_EQ(meta["vocab_size"], bpe.vocab_size());
  EXPECT_EQ(meta["tokenizer"]["kind"], "byte_level_bpe");
  EXPECT_EQ(meta["tokenizer"]["path"],
            std::filesystem::absolute(fixtures() / "small_bpe").lexically_normal().string());
}

TEST(Prepare, ChunkedEncodingEqualsWholeFileEncoding) {
  TemporaryDirectory tmp;
  std::string text = tricky_text();
  text += read_text_file(fixtures() / "train_corpus.txt", "test");
  write_text(tmp.path() / "in.txt", text);
  const ByteLevelBpe bpe = small_bpe();
  std::vector<int64_t> expected = {*bpe.eos_id()};
  expected = concat(expected, bpe.encode(text));
  // Chunking at arbitrary places (here inside a word) would change these tokens: the test can
  // fail.
  const size_t middle = text.find(" the ") + 2;
  EXPECT_NE(concat(bpe.encode(text.substr(0, middle + 1)), bpe.encode(text.substr(middle + 1))),
            bpe.encode(text));

  const auto llama3_tokenizer = load_tokenizer(fixtures() / "llama" / "llama3");
  std::vector<int64_t> llama3_expected = {*llama3_tokenizer->eos_id()};
  llama3_expected = concat(llama3_expected, llama3_tokenizer->encode(text));

  for (int64_t chunk : {1, 2, 3, 5, 16, 64, 1000, 1 << 20}) {
    PrepareOptions options;
    options.input = tmp.path() / "in.txt";
    options.output = tmp.path() / "out";
    options.tokenizer = (fixtures() / "small_bpe").string();
    options.val_fraction = 0.1;
    options.chunk_bytes = chunk;
    const PrepareResult result = prepare_shards(options);
    EXPECT_EQ(concat(read_shards(result.train_shards), read_shards(result.val_shards)), expected)
        << "chunk_bytes " << chunk;

    // Llama 3's regex puts punctuation and the line ends after it in one piece.
    options.tokenizer = (fixtures() / "llama" / "llama3").string();
    const PrepareResult llama3 = prepare_shards(options);
    EXPECT_EQ(concat(read_shards(llama3.train_shards), read_shards(llama3.val_shards)),
              llama3_expected)
        << "chunk_bytes " << chunk;
    EXPECT_EQ(llama3.tokenizer_kind, "hf_tokenizer_json");

    options.tokenizer = "char";
    const PrepareResult chars = prepare_shards(options);
    const auto tokenizer = load_tokenizer(options.output);
    EXPECT_EQ(
        tokenizer->decode(concat(read_shards(chars.train_shards), read_shards(chars.val_shards))),
        text)
        << "chunk_bytes " << chunk;
    EXPECT_EQ(tokenizer->vocab_size(), CharTokenizer::from_corpus(text).vocab_size());
  }
}

TEST(Prepare, RandomTextChunkedEqualsWhole) {
  TemporaryDirectory tmp;
  std::mt19937 rng(7);
  const ByteLevelBpe bpe = small_bpe();
  for (int trial = 0; trial < 5; ++trial) {
    const std::string text = testing::random_utf8(rng, 2000);
    write_text(tmp.path() / "in.txt", text);
    PrepareOptions options;
    options.input = tmp.path() / "in.txt";
    options.output = tmp.path() / "out";
    options.tokenizer = (fixtures() / "small_bpe").string();
    options.val_fraction = 0;
    options.chunk_bytes = 1 + trial * 7;
    std::vector<int64_t> expected = {*bpe.eos_id()};
    expected = concat(expected, bpe.encode(text));
    EXPECT_EQ(read_shards(prepare_shards(options).train_shards), expected) << "trial " << trial;
  }
}

TEST(Prepare, RerunReplacesEarlierShards) {
  TemporaryDirectory tmp;
  write_text(tmp.path() / "in.txt", std::string(40, 'z'));
  PrepareOptions options;
  options.input = tmp.path() / "in.txt";
  options.output = tmp.path() / "out";
  options.shard_tokens = 5;
  prepare_shards(options);
  EXPECT_TRUE(std::filesystem::exists(options.output / "train_000006.bin"));
  write_text(options.output / "notes.txt", "mine");

  options.tokenizer = (fixtures() / "small_bpe").string();
  options.shard_tokens = 1000;
  prepare_shards(options);
  // Old shards and the old char tokenizer are gone; other files are kept; no staging left.
  EXPECT_EQ(
      names_in(options.output),
      (std::vector<std::string>{"meta.json", "notes.txt", "train_000000.bin", "val_000000.bin"}));
}

TEST(Prepare, FailedRunKeepsEarlierOutput) {
  TemporaryDirectory tmp;
  write_text(tmp.path() / "in.txt", "good text\n");
  PrepareOptions options;
  options.input = tmp.path() / "in.txt";
  options.output = tmp.path() / "out";
  options.tokenizer = (fixtures() / "small_bpe").string();
  prepare_shards(options);
  const auto before = names_in(options.output);

  write_text(tmp.path() / "in.txt", "good line\nbad \xC3\x28 byte\n");
  options.chunk_bytes = 4;
  const std::string message = error_of([&] { prepare_shards(options); });
  EXPECT_NE(message.find((tmp.path() / "in.txt").string()), std::string::npos) << message;
  EXPECT_NE(message.find("byte offset 14"), std::string::npos) << message;
  EXPECT_EQ(names_in(options.output), before);
}

TEST(Prepare, InvalidUtf8NamesFileAndOffsetWithChar) {
  TemporaryDirectory tmp;
  write_text(tmp.path() / "in.txt", "abc\xFF");
  PrepareOptions options;
  options.input = tmp.path() / "in.txt";
  options.output = tmp.path() / "out";
  const std::string message = error_of([&] { prepare_shards(options); });
  EXPECT_NE(message.find("[prepare]"), std::string::npos) << message;
  EXPECT_NE(message.find("in.txt is not valid UTF-8"), std::string::npos) << message;
  EXPECT_NE(message.find("0xFF at byte offset 3"), std::string::npos) << message;
}

TEST(Prepare, BadInputsAreErrors) {
  TemporaryDirectory tmp;
  PrepareOptions options;
  options.output = tmp.path() / "out";
  const auto message = [&] { return error_of([&] { prepare_shards(options); }); };

  options.input = tmp.path() / "missing.txt";
  EXPECT_NE(message().find("missing.txt does not exist"), std::string::npos) << message();

  std::filesystem::create_directories(tmp.path() / "empty_dir");
  options.input = tmp.path() / "empty_dir";
  EXPECT_NE(message().find("has no files"), std::string::npos) << message();

  write_text(tmp.path() / "empty.txt", "");
  options.input = tmp.path() / "empty.txt";
  EXPECT_NE(message().find("is empty"), std::string::npos) << message();
  options.tokenizer = (fixtures() / "small_bpe").string();
  EXPECT_NE(message().find("is empty"), std::string::npos) << message();
  options.tokenizer = "char";

  write_text(tmp.path() / "one.txt", "a");
  options.input = tmp.path() / "one.txt";
  EXPECT_NE(message().find("too few for a train/val split"), std::string::npos) << message();

  write_text(tmp.path() / "in.txt", "some text");
  options.input = tmp.path() / "in.txt";
  for (double bad : {-0.1, 0.6}) {
    options.val_fraction = bad;
    EXPECT_NE(message().find("val_fraction must be in [0, 0.5]"), std::string::npos) << message();
  }
  options.val_fraction = 0.1;

  options.tokenizer = "gpt5";
  EXPECT_NE(message().find("unknown tokenizer 'gpt5'"), std::string::npos) << message();
  options.tokenizer = tmp.path().string();  // a directory with no tokenizer files
  EXPECT_NE(message().find("no tokenizer in"), std::string::npos) << message();
  options.tokenizer = "char";

  options.shard_tokens = 0;
  EXPECT_NE(message().find("shard_tokens"), std::string::npos) << message();
  options.shard_tokens = 100;

  std::filesystem::create_directories(tmp.path() / "same");
  write_text(tmp.path() / "same" / "a.txt", "text");
  options.input = tmp.path() / "same";
  options.output = tmp.path() / "same";
  EXPECT_NE(message().find("is the input directory"), std::string::npos) << message();
  // Failed runs leave no staging directory behind.
  EXPECT_TRUE(names_in(tmp.path() / "out").empty());
}

}  // namespace
}  // namespace kiln
