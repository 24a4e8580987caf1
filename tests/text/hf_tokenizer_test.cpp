// kiln's tokenizer.json pipeline against Hugging Face's `tokenizers` library: the fixtures under
// fixtures/llama come from scripts/make_llama_tokenizer_fixtures.py, which builds small
// tokenizers of each Llama-family style with the library and records its ids and decodes.
#include <gtest/gtest.h>

#include <chrono>

#include "core/error.h"
#include "tests/text/text_test_util.h"
#include "text/hf_tokenizer.h"

namespace kiln {
namespace {

using nlohmann::json;
using testing::error_of;
using testing::fixtures;
using testing::TemporaryDirectory;

std::filesystem::path llama(const std::string& name) {
  return fixtures() / "llama" / name;
}

struct Case {
  std::string text, decoded;
  std::vector<int64_t> ids, ids_with_special_tokens;
};

std::vector<Case> cases(const std::string& name) {
  const json root = read_json_file(llama(name) / "vectors.json", "test");
  std::vector<Case> out;
  for (const json& c : root.at("cases")) {
    out.push_back({c.at("text").get<std::string>(), c.at("decoded").get<std::string>(),
                   c.at("ids").get<std::vector<int64_t>>(),
                   c.at("ids_with_special_tokens").get<std::vector<int64_t>>()});
  }
  return out;
}

// Every recorded text encodes to the library's ids, with and without the template's tokens, and
// decodes to what the library decodes; returns how many decode back to the text itself.
size_t expect_matches(const Tokenizer& tokenizer, const std::string& name) {
  const std::vector<Case> all = cases(name);
  EXPECT_GE(all.size(), 60u);
  size_t round_trips = 0;
  for (const Case& c : all) {
    EXPECT_EQ(tokenizer.encode(c.text), c.ids) << name << " text: " << c.text;
    EXPECT_EQ(tokenizer.encode_with_special_tokens(c.text), c.ids_with_special_tokens)
        << name << " text: " << c.text;
    EXPECT_EQ(tokenizer.decode(c.ids), c.decoded) << name << " text: " << c.text;
    round_trips += c.decoded == c.text;
  }
  return round_trips;
}

class HfTokenizerFixture : public ::testing::TestWithParam<const char*> {};

TEST_P(HfTokenizerFixture, MatchesTheTokenizersLibrary) {
  const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(llama(GetParam()));
  ASSERT_NE(dynamic_cast<const HfTokenizer*>(tokenizer.get()), nullptr);
  const size_t round_trips = expect_matches(*tokenizer, GetParam());
  // Texts without added tokens or the Metaspace decoder's lossy leading spaces come back whole.
  EXPECT_GE(round_trips, cases(GetParam()).size() * 3 / 4);
}

TEST_P(HfTokenizerFixture, SavesWhatItLoads) {
  const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(llama(GetParam()));
  TemporaryDirectory dir;
  tokenizer->save(dir.path());
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "tokenizer.json"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "tokenizer_config.json"));
  const std::unique_ptr<Tokenizer> again = load_tokenizer(dir.path());
  EXPECT_EQ(again->vocab_size(), tokenizer->vocab_size());
  EXPECT_EQ(again->bos_id(), tokenizer->bos_id());
  EXPECT_EQ(again->eos_id(), tokenizer->eos_id());
  expect_matches(*again, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Styles, HfTokenizerFixture,
                         ::testing::Values("llama3", "smollm", "qwen2", "llama2", "metaspace"));

TEST(HfTokenizer, BosAndEosComeFromTheConfig) {
  const auto llama3 = load_tokenizer(llama("llama3"));
  EXPECT_EQ(llama3->bos_id(), llama3->token_to_id("<|begin_of_text|>"));
  EXPECT_EQ(llama3->eos_id(), llama3->token_to_id("<|eot_id|>"));
  EXPECT_EQ(llama3->encode_with_special_tokens("hi").front(), *llama3->bos_id());
  const auto llama2 = load_tokenizer(llama("llama2"));
  EXPECT_EQ(llama2->bos_id(), 1);  // written as {"content": "<s>", ...}
  EXPECT_EQ(llama2->eos_id(), 2);
  EXPECT_EQ(llama2->id_to_token(3), "<0x00>");
  EXPECT_EQ(llama2->token_to_id("[INST]"), llama2->vocab_size() - 3);
}

TEST(HfTokenizer, NullBosInTheConfigMeansNone) {
  const auto qwen2 = load_tokenizer(llama("qwen2"));
  EXPECT_EQ(qwen2->bos_id(), std::nullopt);
  EXPECT_EQ(qwen2->eos_id(), qwen2->token_to_id("<|endoftext|>"));
  EXPECT_EQ(qwen2->encode_with_special_tokens("hi"), qwen2->encode("hi"));
}

TEST(HfTokenizer, AddBosTokenInTheConfigDecides) {
  TemporaryDirectory dir;
  std::filesystem::copy(llama("llama2") / "tokenizer.json", dir.path() / "tokenizer.json");
  json config = read_json_file(llama("llama2") / "tokenizer_config.json", "test");
  config["add_bos_token"] = false;
  config["add_eos_token"] = true;
  write_file_atomically(dir.path() / "tokenizer_config.json", config.dump(), "test");
  const auto tokenizer = load_tokenizer(dir.path());
  std::vector<int64_t> expected = tokenizer->encode("Hello world");
  expected.push_back(2);
  EXPECT_EQ(tokenizer->encode_with_special_tokens("Hello world"), expected);
}

TEST(HfTokenizer, IgnoreMergesEmitsVocabularyWordsWhole) {
  const auto with = load_tokenizer(llama("llama3"));
  const std::optional<int64_t> kilnish = with->token_to_id("Ġkilnish");
  ASSERT_TRUE(kilnish.has_value());
  EXPECT_EQ(with->encode(" kilnish"), std::vector<int64_t>{*kilnish});

  TemporaryDirectory dir;
  json root = read_json_file(llama("llama3") / "tokenizer.json", "test");
  root["model"]["ignore_merges"] = false;
  write_file_atomically(dir.path() / "tokenizer.json", root.dump(), "test");
  const auto without = load_tokenizer(dir.path());
  EXPECT_GT(without->encode(" kilnish").size(), 1u);
  EXPECT_EQ(without->decode(without->encode(" kilnish")), " kilnish");
}

TEST(HfTokenizer, LongTextsEncodeInLinearTime) {
  // A megabyte of mixed text, a long word and a long run of spaces: quadratic splitting or
  // merging would take minutes here.
  std::string text;
  for (const Case& c : cases("llama3")) {
    // lstrip / rstrip tokens would swallow the joining newlines.
    const bool strips =
        c.text.find("<mask>") != std::string::npos || c.text.find("[sep]") != std::string::npos;
    if (c.decoded == c.text && !strips) text += c.text + "\n";
  }
  const std::string base = text;
  while (text.size() < (size_t{1} << 20)) text += base;
  text += std::string(100000, 'a') + std::string(100000, ' ') + "end";
  for (const char* name : {"llama3", "llama2"}) {
    const auto tokenizer = load_tokenizer(llama(name));
    const auto start = std::chrono::steady_clock::now();
    const std::vector<int64_t> ids = tokenizer->encode(text);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s: %zu bytes -> %zu tokens in %.3f s\n", name, text.size(), ids.size(), seconds);
    if (std::string(name) == "llama3") EXPECT_TRUE(tokenizer->decode(ids) == text);
  }
}

TEST(HfTokenizer, RefusesWhatItDoesNotImplement) {
  TemporaryDirectory dir;
  const auto file = dir.path() / "tokenizer.json";
  const auto expect_error = [&](const char* fixture, const std::function<void(json&)>& edit,
                                const std::string& fragment) {
    json root = read_json_file(llama(fixture) / "tokenizer.json", "test");
    edit(root);
    write_file_atomically(file, root.dump(), "test");
    const std::string message = error_of([&] { load_tokenizer(dir.path()); });
    EXPECT_NE(message.find(file.string()), std::string::npos) << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  };
  expect_error(
      "llama3", [](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["type"] = "Whitespace"; },
      "pre_tokenizer Whitespace is not supported");
  expect_error(
      "llama3",
      [](json& j) {
        j["pre_tokenizer"] = {{"type", "BertPreTokenizer"}};
      },
      "pre_tokenizer BertPreTokenizer is not supported");
  expect_error(
      "llama3", [](json& j) { j["model"].erase("merges"); }, "model.merges is missing");
  expect_error(
      "llama3",
      [](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(?i:'s|[a-"; },
      "regex does not compile");
  expect_error(
      "llama3", [](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Removed"; },
      "behavior Removed is not supported");
  expect_error(
      "llama3", [](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["invert"] = true; },
      "invert = true");
  expect_error(
      "llama3",
      [](json& j) {
        j["normalizer"] = {{"type", "NFKC"}};
      },
      "normalizer NFKC is not supported");
  expect_error(
      "llama3", [](json& j) { j["model"]["type"] = "Unigram"; }, "model type Unigram");
  expect_error(
      "llama3", [](json& j) { j["model"]["dropout"] = 0.1; }, "model.dropout");
  expect_error(
      "llama3", [](json& j) { j["model"]["merges"][0] = json::array({"a"}); },
      "neither \"left right\" nor [left, right]");
  expect_error(
      "llama3",
      [](json& j) {
        j["model"]["merges"][0] = json::array({"Ġ", "zzz"});
      },
      "'zzz' is not in model.vocab");
  expect_error(
      "llama3",
      [](json& j) {
        j["post_processor"] = {{"type", "RobertaProcessing"}};
      },
      "post_processor RobertaProcessing is not supported");
  expect_error(
      "llama2", [](json& j) { j["decoder"]["decoders"][1]["type"] = "CTC"; },
      "decoder CTC is not supported");
  expect_error(
      "llama2",
      [](json& j) {
        j["normalizer"]["normalizers"][1]["pattern"] = {{"Regex", " +"}};
      },
      "normalizer Replace with pattern");
  expect_error(
      "llama2", [](json& j) { j["model"]["unk_token"] = "<missing>"; }, "unk_token '<missing>'");
  expect_error(
      "llama2", [](json& j) { j["added_tokens"][0]["id"] = 5000; }, "ids must number the");
}

TEST(HfTokenizer, RefusesABadConfig) {
  TemporaryDirectory dir;
  std::filesystem::copy(llama("llama2") / "tokenizer.json", dir.path() / "tokenizer.json");
  const auto config = dir.path() / "tokenizer_config.json";
  write_file_atomically(config, R"({"bos_token": "<nope>"})", "test");
  std::string message = error_of([&] { load_tokenizer(dir.path()); });
  EXPECT_NE(message.find(config.string()), std::string::npos) << message;
  EXPECT_NE(message.find("bos_token '<nope>' is not in the vocabulary"), std::string::npos)
      << message;
  write_file_atomically(config, R"({"eos_token": 7})", "test");
  message = error_of([&] { load_tokenizer(dir.path()); });
  EXPECT_NE(message.find("eos_token is 7, expected a string"), std::string::npos) << message;
}

TEST(HfTokenizer, RefusesInvalidUtf8AndUnknownIds) {
  const auto tokenizer = load_tokenizer(llama("llama2"));
  EXPECT_NE(error_of([&] { tokenizer->encode("ab\xC3("); }).find("invalid UTF-8 at byte offset 2"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              tokenizer->decode({1, 100000});
            }).find("id 100000 at position 1"),
            std::string::npos);
}

}  // namespace
}  // namespace kiln
