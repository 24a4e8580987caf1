#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/text/text_test_util.h"
#include "text/byte_level_bpe.h"
#include "text/hf_tokenizer.h"

namespace kiln {
namespace {

using nlohmann::json;
using testing::error_of;
using testing::fixtures;
using testing::TemporaryDirectory;

json fixture_json() {
  return read_json_file(fixtures() / "small_tokenizer" / "tokenizer.json", "test");
}

void expect_vectors(const Tokenizer& tokenizer) {
  const auto cases = testing::vectors(fixtures() / "bpe_vectors.json", "small_tokenizer");
  ASSERT_GE(cases.size(), 60u);
  for (const auto& [text, ids] : cases) {
    EXPECT_EQ(tokenizer.encode(text), ids) << "text: " << text;
    EXPECT_EQ(tokenizer.decode(ids), text);
  }
}

TEST(TokenizerJson, MatchesThePythonReference) {
  const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(fixtures() / "small_tokenizer");
  // An added token beyond the model's vocabulary extends it.
  EXPECT_EQ(tokenizer->vocab_size(), 578);
  EXPECT_EQ(tokenizer->token_to_id("<|pad|>"), 577);
  EXPECT_EQ(tokenizer->eos_id(), 576);
  expect_vectors(*tokenizer);
}

TEST(TokenizerJson, ReadsMergesWrittenAsStrings) {
  json root = fixture_json();
  json merges = json::array();
  for (const json& merge : root["model"]["merges"]) {
    merges.push_back(merge[0].get<std::string>() + " " + merge[1].get<std::string>());
  }
  root["model"]["merges"] = merges;
  TemporaryDirectory dir;
  write_file_atomically(dir.path() / "tokenizer.json", root.dump(), "test");
  expect_vectors(*load_tokenizer(dir.path()));
}

// Files beyond GPT-2's plain pipeline go to HfTokenizer, which implements these options.
TEST(TokenizerJson, OtherByteLevelOptionsLoadAsHfTokenizer) {
  TemporaryDirectory dir;
  for (const auto& edit : std::vector<std::function<void(json&)>>{
           [](json& j) { j["pre_tokenizer"]["add_prefix_space"] = true; },
           [](json& j) { j["model"]["byte_fallback"] = true; }}) {
    json root = fixture_json();
    edit(root);
    write_file_atomically(dir.path() / "tokenizer.json", root.dump(), "test");
    const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(dir.path());
    EXPECT_NE(dynamic_cast<const HfTokenizer*>(tokenizer.get()), nullptr);
    // add_prefix_space puts a space before the text.
    EXPECT_TRUE(tokenizer->decode(tokenizer->encode("Hello, wörld")).ends_with("Hello, wörld"));
  }
}

TEST(TokenizerJson, RefusesWhatItDoesNotImplement) {
  TemporaryDirectory dir;
  const auto file = dir.path() / "tokenizer.json";
  const auto expect_error = [&](const std::function<void(json&)>& edit,
                                const std::string& fragment) {
    json root = fixture_json();
    edit(root);
    write_file_atomically(file, root.dump(), "test");
    const std::string message = error_of([&] { load_tokenizer(dir.path()); });
    EXPECT_NE(message.find(file.string()), std::string::npos) << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << message;
  };
  expect_error([](json& j) { j["model"]["type"] = "WordPiece"; }, "model type WordPiece");
  expect_error([](json& j) { j["normalizer"] = {{"type", "NFKC"}}; }, "normalizer NFKC");
  expect_error([](json& j) { j["pre_tokenizer"] = {{"type", "Whitespace"}}; }, "pre_tokenizer");
  expect_error([](json& j) { j["model"]["continuing_subword_prefix"] = "##"; },
               "continuing_subword_prefix");
  expect_error([](json& j) { j.erase("model"); }, "no \"model\" object");
  expect_error([](json& j) { j["model"].erase("merges"); }, "unexpected structure");
  expect_error([](json& j) { j["model"]["merges"][0] = json::array({"a"}); },
               "neither \"left right\" nor [left, right]");
  expect_error([](json& j) { j["model"]["merges"][0] = "a"; }, "expected two tokens");
  expect_error([](json& j) { j["added_tokens"][0]["content"] = "<|other|>"; },
               "added token '<|other|>' has id 576, which the vocabulary gives to "
               "'<|endoftext|>'");
  expect_error([](json& j) { j["added_tokens"][1]["id"] = 900; }, "has id 900");
  expect_error([](json& j) { j["model"]["unk_token"] = "<unk>"; }, "unk token '<unk>'");
}

}  // namespace
}  // namespace kiln
