#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "core/safetensors.h"
#include "models/hf.h"

namespace kiln::testing {
namespace {
namespace fs = std::filesystem;

const fs::path kFixture = fs::path(KILN_MODEL_FIXTURES) / "tiny_gpt2";

nlohmann::json expected() {
  std::ifstream in(kFixture / "expected.json");
  return nlohmann::json::parse(in);
}

// A fresh copy of the fixture to corrupt.
fs::path copy_fixture(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("kiln_hf_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const char* f : {"config.json", "model.safetensors"}) fs::copy_file(kFixture / f, dir / f);
  return dir;
}

void expect_error_mentioning(const fs::path& dir, const std::string& needle) {
  try {
    models::load_gpt2(dir);
    FAIL() << "expected an error mentioning " << needle;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(HuggingFace, TransformersModelGivesTransformersLogits) {
  const auto model = models::load_gpt2(kFixture);
  const nlohmann::json want = expected();
  const std::vector<int64_t> ids = want["ids"].get<std::vector<int64_t>>();
  const Tensor logits = model->forward(from_vector(ids, {1, static_cast<int64_t>(ids.size())}));
  const std::vector<float> got = logits.to_vector<float>();
  double diff = 0, norm = 0;
  size_t k = 0;
  for (const auto& row : want["logits"])
    for (const auto& v : row) {
      const double e = v.get<double>();
      diff += (got[k] - e) * (got[k] - e);
      norm += e * e;
      ++k;
    }
  ASSERT_EQ(k, got.size());
  EXPECT_LE(std::sqrt(diff / norm), 1e-5);
}

TEST(HuggingFace, ConfigIsRead) {
  const models::GPTConfig c = models::read_gpt2_config(kFixture);
  EXPECT_EQ(c.vocab_size, 577);
  EXPECT_EQ(c.block_size, 24);
  EXPECT_EQ(c.n_embd, 16);
  EXPECT_EQ(c.n_layer, 2);
  EXPECT_EQ(c.n_head, 4);
  EXPECT_TRUE(c.tie_word_embeddings);
}

TEST(HuggingFace, SaveThenLoadGivesTheSameModel) {
  const auto original = models::load_gpt2(kFixture);
  const fs::path dir = fs::path(::testing::TempDir()) / "kiln_hf_roundtrip";
  fs::remove_all(dir);
  models::save_gpt2(*original, dir);
  const auto reloaded = models::load_gpt2(dir);
  const auto a = original->named_parameters();
  const auto b = reloaded->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_EQ(a[i].second.to_vector<float>(), b[i].second.to_vector<float>()) << a[i].first;
  }
  // The layout transformers expects: prefixed names, Conv1D [in, out], no tied lm_head.
  const SafetensorsFile file(dir / "model.safetensors");
  EXPECT_TRUE(file.contains("transformer.h.0.attn.c_attn.weight"));
  EXPECT_EQ(file.info("transformer.h.0.attn.c_attn.weight").shape, (Shape{16, 48}));
  EXPECT_FALSE(file.contains("lm_head.weight"));
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_FALSE(fs::exists(dir / "config.json.tmp"));
}

nlohmann::json saved_config(const models::GPT& model, const std::string& name,
                            const models::SpecialTokenIds& ids) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("kiln_hf_" + name);
  fs::remove_all(dir);
  models::save_gpt2(model, dir, ids);
  return nlohmann::json::parse(std::ifstream(dir / "config.json"));
}

// bos/eos come from the tokenizer (GPT-2's are both <|endoftext|>), not from the vocabulary's
// size, which is padded (50304) or belongs to a tokenizer without them (characters).
TEST(HuggingFace, SavedSpecialTokenIdsAreTheTokenizersOrAbsent) {
  const auto model = models::load_gpt2(kFixture);
  const nlohmann::json with = saved_config(*model, "special_ids", {.bos = 576, .eos = 576});
  EXPECT_EQ(with.at("bos_token_id"), 576);
  EXPECT_EQ(with.at("eos_token_id"), 576);
  const nlohmann::json without = saved_config(*model, "no_special_ids", {});
  EXPECT_FALSE(without.contains("bos_token_id")) << without.dump();
  EXPECT_FALSE(without.contains("eos_token_id")) << without.dump();
  EXPECT_THROW(saved_config(*model, "bad_special_ids", {.bos = 577, .eos = 576}), Error);
}

// kiln has residual and embedding dropout but none on the attention probabilities; transformers
// would apply its default 0.1 if attn_pdrop were absent, so 0 is written.
TEST(HuggingFace, SavedConfigHasNoAttentionDropout) {
  models::GPTConfig c;
  c.vocab_size = 11;
  c.block_size = 8;
  c.n_layer = 1;
  c.n_head = 2;
  c.n_embd = 8;
  c.dropout = 0.2;
  const models::GPT model(c);
  const nlohmann::json config = saved_config(model, "pdrop", {});
  EXPECT_EQ(config.at("attn_pdrop").get<double>(), 0.0);
  EXPECT_EQ(config.at("resid_pdrop").get<double>(), 0.2);
  EXPECT_EQ(config.at("embd_pdrop").get<double>(), 0.2);
}

TEST(HuggingFace, BiasFreeModelsAreWrittenWithZeroBiases) {
  models::GPTConfig c;
  c.vocab_size = 11;
  c.block_size = 8;
  c.n_layer = 1;
  c.n_head = 2;
  c.n_embd = 8;
  c.bias = false;
  const models::GPT model(c);
  const fs::path dir = fs::path(::testing::TempDir()) / "kiln_hf_nobias";
  fs::remove_all(dir);
  models::save_gpt2(model, dir);
  const auto reloaded = models::load_gpt2(dir);
  EXPECT_EQ(reloaded->parameter("h.0.mlp.c_fc.bias").to_vector<float>(),
            std::vector<float>(32, 0.0f));
  EXPECT_EQ(reloaded->parameter("h.0.mlp.c_fc.weight").to_vector<float>(),
            model.parameter("h.0.mlp.c_fc.weight").to_vector<float>());
}

TEST(HuggingFace, MissingFilesAreNamed) {
  const fs::path dir = copy_fixture("missing_config");
  fs::remove(dir / "config.json");
  expect_error_mentioning(dir, "config.json");
  const fs::path no_weights = copy_fixture("missing_weights");
  fs::remove(no_weights / "model.safetensors");
  expect_error_mentioning(no_weights, "model.safetensors");
}

TEST(HuggingFace, CorruptConfigIsNamed) {
  const fs::path dir = copy_fixture("bad_json");
  std::ofstream(dir / "config.json") << "{\"n_embd\": 16,";
  expect_error_mentioning(dir, "not valid JSON");
  const fs::path wrong_type = copy_fixture("wrong_type");
  std::ofstream(wrong_type / "config.json")
      << R"({"vocab_size": "many", "n_embd": 16, "n_layer": 2, "n_head": 4})";
  expect_error_mentioning(wrong_type, "vocab_size");
  for (const char* n_inner : {R"("64")", "64.5", "[64]", "true"}) {
    const fs::path bad_inner = copy_fixture("bad_n_inner");
    nlohmann::json config = nlohmann::json::parse(std::ifstream(kFixture / "config.json"));
    config["n_inner"] = nlohmann::json::parse(n_inner);
    std::ofstream(bad_inner / "config.json") << config.dump();
    SCOPED_TRACE(n_inner);
    expect_error_mentioning(bad_inner, "config.json: 'n_inner' has the wrong type");
  }
  const fs::path other_model = copy_fixture("llama");
  std::ofstream(other_model / "config.json") << R"({"model_type": "llama"})";
  expect_error_mentioning(other_model, "llama");
}

TEST(HuggingFace, ConfigThatDisagreesWithTheWeightsIsNamed) {
  const fs::path dir = copy_fixture("wider");
  nlohmann::json config = nlohmann::json::parse(std::ifstream(dir / "config.json"));
  config["vocab_size"] = 580;
  std::ofstream(dir / "config.json") << config.dump();
  expect_error_mentioning(dir, "wte.weight");
}

// Rewrites the fixture's weights without `drop` and with `extra` added.
void rewrite_weights(const fs::path& dir, const std::string& drop, const std::string& extra) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  {
    const SafetensorsFile file(kFixture / "model.safetensors");
    for (const std::string& name : file.names())
      if (name != drop) tensors.emplace_back(name, file.load(name));
  }
  if (!extra.empty()) tensors.emplace_back(extra, zeros({3}));
  save_safetensors(dir / "model.safetensors", tensors);
}

TEST(HuggingFace, MissingAndUnexpectedTensorsAreNamed) {
  const fs::path missing = copy_fixture("missing_tensor");
  rewrite_weights(missing, "transformer.h.1.ln_2.bias", "");
  expect_error_mentioning(missing, "h.1.ln_2.bias");
  const fs::path unexpected = copy_fixture("unexpected_tensor");
  rewrite_weights(unexpected, "", "transformer.h.0.attn.rotary");
  expect_error_mentioning(unexpected, "unexpected tensor 'transformer.h.0.attn.rotary'");
}

TEST(HuggingFace, CausalMaskBuffersAndPrefixlessNamesAreAccepted) {
  const fs::path dir = copy_fixture("buffers");
  std::vector<std::pair<std::string, Tensor>> tensors;
  {
    const SafetensorsFile file(kFixture / "model.safetensors");
    for (const std::string& name : file.names())
      tensors.emplace_back(name.substr(std::string("transformer.").size()), file.load(name));
  }
  tensors.emplace_back("h.0.attn.bias", ones({1, 1, 24, 24}));
  tensors.emplace_back("h.0.attn.masked_bias", full({}, -1e4));
  save_safetensors(dir / "model.safetensors", tensors);
  const auto model = models::load_gpt2(dir);
  EXPECT_EQ(model->parameter("wte.weight").to_vector<float>(),
            models::load_gpt2(kFixture)->parameter("wte.weight").to_vector<float>());
}

TEST(HuggingFace, SharedTinyRandomGpt2Loads) {
  const fs::path dir = fs::path(KILN_SHARED_DATA) / "tiny-random-gpt2";
  if (!fs::exists(dir / "model.safetensors")) GTEST_SKIP() << "no shared data";
  const auto model = models::load_gpt2(dir);
  EXPECT_EQ(model->config().vocab_size, 1000);
  EXPECT_EQ(model->config().n_layer, 5);
  const Tensor logits = model->forward(from_vector<int64_t>({1, 2, 3}, {1, 3}));
  EXPECT_EQ(logits.shape(), (Shape{1, 3, 1000}));
}

}  // namespace
}  // namespace kiln::testing
