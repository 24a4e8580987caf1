// Llama-family models against transformers: the fixtures of scripts/make_llama_fixture.py
// (Llama with GQA, Qwen2 with q/k/v biases and linear rope scaling, Llama 3 rope scaling with a
// head_dim other than hidden / heads in sharded BF16, Mistral in F16).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/ops.h"
#include "core/safetensors.h"
#include "infer/generation.h"
#include "models/hf_llama.h"
#include "models/pretrained.h"

namespace kiln::testing {
namespace {
namespace fs = std::filesystem;

const fs::path kFixtures = fs::path(KILN_MODEL_FIXTURES);

nlohmann::json expected(const std::string& name) {
  std::ifstream in(kFixtures / name / "expected.json");
  return nlohmann::json::parse(in);
}

Tensor ids_tensor(const std::vector<int64_t>& ids) {
  return from_vector(ids, {1, static_cast<int64_t>(ids.size())});
}

double relative_error(const std::vector<float>& got, const nlohmann::json& rows) {
  double diff = 0, norm = 0;
  size_t k = 0;
  for (const auto& row : rows)
    for (const auto& v : row) {
      const double e = v.get<double>();
      diff += (got.at(k) - e) * (got.at(k) - e);
      norm += e * e;
      ++k;
    }
  EXPECT_EQ(k, got.size());
  return std::sqrt(diff / norm);
}

double mean_loss(models::CausalLM& model, const std::vector<int64_t>& ids) {
  NoGradGuard no_grad;
  const int64_t t = static_cast<int64_t>(ids.size());
  const Tensor logits = model.forward(ids_tensor(std::vector<int64_t>(ids.begin(), ids.end() - 1)));
  const Tensor targets = from_vector(std::vector<int64_t>(ids.begin() + 1, ids.end()), {t - 1});
  return cross_entropy(logits.reshape({t - 1, logits.size(2)}), targets).item();
}

class LlamaFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(LlamaFixture, LogitsAndLossMatchTransformers) {
  const auto model = models::load_llama(kFixtures / GetParam());
  model->eval();
  const nlohmann::json want = expected(GetParam());
  const std::vector<int64_t> ids = want["ids"].get<std::vector<int64_t>>();
  NoGradGuard no_grad;
  EXPECT_LE(relative_error(model->forward(ids_tensor(ids)).to_vector<float>(), want["logits"]),
            1e-4);
  EXPECT_NEAR(mean_loss(*model, ids), want["loss"].get<double>(),
              1e-5 * want["loss"].get<double>());
}

TEST_P(LlamaFixture, GreedyContinuationMatchesTransformersWithAndWithoutCache) {
  const auto model = models::load_pretrained(kFixtures / GetParam());
  const nlohmann::json want = expected(GetParam())["generation"];
  const std::vector<int64_t> prompt = want["prompt_ids"].get<std::vector<int64_t>>();
  const std::vector<int64_t> continuation = want["ids"].get<std::vector<int64_t>>();
  for (const bool use_cache : {true, false}) {
    infer::GenerationOptions options;
    options.max_new_tokens = static_cast<int64_t>(continuation.size());
    options.sampling.greedy = true;
    options.use_cache = use_cache;
    EXPECT_EQ(infer::generate(*model, {prompt}, options)[0], continuation)
        << "use_cache " << use_cache;
  }
}

TEST_P(LlamaFixture, CachedStepsGiveTheLogitsOfTheFullSequence) {
  const auto model = models::load_llama(kFixtures / GetParam());
  model->eval();
  NoGradGuard no_grad;
  const std::vector<int64_t> ids = expected(GetParam())["ids"].get<std::vector<int64_t>>();
  const std::vector<float> full = model->forward(ids_tensor(ids)).to_vector<float>();
  models::KVCache cache = model->make_cache(1);
  std::vector<float> stepped =
      model->forward(ids_tensor({ids.begin(), ids.begin() + 5}), &cache).to_vector<float>();
  for (size_t i = 5; i < ids.size(); ++i) {
    const std::vector<float> step = model->forward(ids_tensor({ids[i]}), &cache).to_vector<float>();
    stepped.insert(stepped.end(), step.begin(), step.end());
  }
  ASSERT_EQ(stepped.size(), full.size());
  double diff = 0, norm = 0;
  for (size_t i = 0; i < full.size(); ++i) {
    diff += (stepped[i] - full[i]) * (stepped[i] - full[i]);
    norm += full[i] * full[i];
  }
  EXPECT_LE(std::sqrt(diff / norm), 1e-5);
}

// The interpreter that has transformers (KILN_HF_PYTHON, python3 or Debian's), or "".
const std::string& transformers_python() {
  static const std::string found = [] {
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("KILN_HF_PYTHON")) candidates.emplace_back(env);
    candidates.insert(candidates.end(), {"python3", "/usr/bin/python3"});
    for (const std::string& python : candidates)
      if (std::system((python + " -c 'import torch, transformers' >/dev/null 2>&1").c_str()) == 0)
        return python;
    return std::string();
  }();
  return found;
}

TEST_P(LlamaFixture, SavedModelLoadsBackInKilnAndInTransformers) {
  const auto model = models::load_llama(kFixtures / GetParam());
  const fs::path dir = fs::path(::testing::TempDir()) / ("kiln_llama_save_" + GetParam());
  fs::remove_all(dir);
  models::save_pretrained(*model, dir);
  const auto again = models::load_pretrained(dir);
  EXPECT_EQ(again->model_type(), model->model_type());
  const std::vector<int64_t> ids = expected(GetParam())["ids"].get<std::vector<int64_t>>();
  const double loss = mean_loss(*model, ids);
  EXPECT_EQ(mean_loss(*again, ids), loss);
  // Each check starts torch (seconds): two fixtures cover biases, tying, GQA, head_dim and both
  // rope_scaling types.
  if (GetParam() != "llama3_sharded" && GetParam() != "qwen2_tiny") return;
  const std::string& python = transformers_python();
  if (python.empty()) GTEST_SKIP() << "no Python with torch and transformers: kiln round trip only";
  nlohmann::json id_list = ids;
  const std::string command =
      fmt::format("{} {}/scripts/make_llama_fixture.py --check {} '{}' {:.10g} >/dev/null 2>&1",
                  python, KILN_SOURCE_DIR, dir.string(), id_list.dump(), loss);
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

INSTANTIATE_TEST_SUITE_P(HfLlama, LlamaFixture,
                         ::testing::Values("llama_tiny", "qwen2_tiny", "llama3_sharded",
                                           "mistral_tiny"));

TEST(HfLlama, ConfigsAreRead) {
  const models::LlamaConfig l = models::read_llama_config(kFixtures / "llama3_sharded");
  EXPECT_EQ(l.model_type, "llama");
  EXPECT_EQ(l.n_head, 4);
  EXPECT_EQ(l.n_kv_head, 2);
  EXPECT_EQ(l.resolved_head_dim(), 24);
  EXPECT_TRUE(l.tie_word_embeddings);
  EXPECT_TRUE(l.attention_bias && l.attention_out_bias && l.mlp_bias);
  EXPECT_EQ(l.rope_scaling.type, "llama3");
  EXPECT_EQ(l.rope_scaling.original_max_position_embeddings, 16);
  const models::LlamaConfig q = models::read_llama_config(kFixtures / "qwen2_tiny");
  EXPECT_TRUE(q.attention_bias);
  EXPECT_FALSE(q.attention_out_bias);
  EXPECT_EQ(q.rope_scaling.type, "linear");
  EXPECT_EQ(q.rope_theta, 1e6);
}

TEST(HfLlama, CacheHoldsTheKeyValueHeadsOnly) {
  const auto model = models::load_llama(kFixtures / "llama_tiny");
  models::KVCache cache = model->make_cache(1);
  NoGradGuard no_grad;
  model->forward(ids_tensor({1, 2, 3}), &cache);
  const auto [k, v] = cache.append(0, zeros({1, 2, 1, 8}), zeros({1, 2, 1, 8}));
  EXPECT_EQ(k.shape(), (Shape{1, 2, 4, 8}));  // 2 kv heads of 8, not 4 query heads
}

TEST(HfLlama, TrainingReachesEveryParameter) {
  const auto model = models::load_llama(kFixtures / "llama3_sharded");
  const std::vector<int64_t> ids = expected("llama3_sharded")["ids"].get<std::vector<int64_t>>();
  const int64_t t = static_cast<int64_t>(ids.size()) - 1;
  const Tensor logits = model->forward(ids_tensor({ids.begin(), ids.end() - 1}));
  cross_entropy(logits.reshape({t, logits.size(2)}),
                from_vector(std::vector<int64_t>(ids.begin() + 1, ids.end()), {t}))
      .backward();
  for (const auto& [name, p] : model->named_parameters()) {
    ASSERT_TRUE(p.grad().defined()) << name;
    double norm = 0;
    for (const float g : p.grad().to_vector<float>()) norm += g * g;
    EXPECT_GT(norm, 0.0) << name;
  }
}

// A fixture copied to a temporary directory, for corrupting.
fs::path copy_fixture(const std::string& name, const std::string& tag) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("kiln_llama_" + tag);
  fs::remove_all(dir);
  fs::copy(kFixtures / name, dir);
  return dir;
}

void edit_config(const fs::path& dir, const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json config;
  {
    std::ifstream in(dir / "config.json");
    config = nlohmann::json::parse(in);
  }
  edit(config);
  std::ofstream(dir / "config.json") << config.dump(2);
}

void expect_one_line_error(const fs::path& dir, const std::string& needle) {
  try {
    models::load_pretrained(dir);
    ADD_FAILURE() << "expected an error mentioning " << needle;
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(needle), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    EXPECT_NE(what.find(dir.string()), std::string::npos) << what;
  }
}

TEST(HfLlama, OlderSpellingsOfRopeScalingAreRead) {
  const fs::path dir = copy_fixture("llama_tiny", "rope_type_key");
  edit_config(dir, [](nlohmann::json& c) {
    c["rope_scaling"] = {{"type", "linear"}, {"factor", 4.0}};
    c.erase("num_key_value_heads");  // absent: as many kv heads as heads
  });
  const models::LlamaConfig c = models::read_llama_config(dir);
  EXPECT_EQ(c.rope_scaling.type, "linear");
  EXPECT_EQ(c.rope_scaling.factor, 4.0);
  EXPECT_EQ(c.n_kv_head, 4);
  edit_config(dir, [](nlohmann::json& c) { c["rope_scaling"] = {{"rope_type", "default"}}; });
  EXPECT_EQ(models::read_llama_config(dir).rope_scaling.type, "none");
  edit_config(dir, [](nlohmann::json& c) {
    c["rope_scaling"] = {{"type", "dynamic"}, {"factor", 2}};
  });
  expect_one_line_error(dir, "rope_scaling type 'dynamic' is not supported");
}

TEST(HfLlama, UnsupportedOptionsAreRefusedByName) {
  const std::vector<std::pair<std::function<void(nlohmann::json&)>, std::string>> cases = {
      {[](nlohmann::json& c) {
         c["model_type"] = "mistral";
         c["sliding_window"] = 16;
       },
       "'sliding_window' 16 is shorter than the context 64"},
      {[](nlohmann::json& c) {
         c["model_type"] = "qwen2";
         c["use_sliding_window"] = true;
       },
       "'use_sliding_window' is true"},
      {[](nlohmann::json& c) {
         c["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
       },
       "rope_scaling type 'yarn' is not supported"},
      {[](nlohmann::json& c) { c["num_local_experts"] = 8; },
       "'num_local_experts' is set: mixture-of-experts"},
      {[](nlohmann::json& c) { c["hidden_act"] = "gelu"; }, "hidden_act 'gelu'"},
      {[](nlohmann::json& c) { c["num_key_value_heads"] = 3; },
       "n_head (4) must be a multiple of n_kv_head (3)"},
      {[](nlohmann::json& c) { c.erase("hidden_size"); }, "has no 'hidden_size'"},
      {[](nlohmann::json& c) { c["vocab_size"] = "many"; }, "'vocab_size' has the wrong type"},
      {[](nlohmann::json& c) { c["model_type"] = "mixtral"; }, "model_type 'mixtral'"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const fs::path dir = copy_fixture("llama_tiny", "config_" + std::to_string(i));
    edit_config(dir, cases[i].first);
    expect_one_line_error(dir, cases[i].second);
  }
}

TEST(HfLlama, MissingShardsAndTensorsAreOneLineErrors) {
  const fs::path missing = copy_fixture("llama3_sharded", "missing_shard");
  fs::remove(missing / "model-00002-of-00002.safetensors");
  expect_one_line_error(missing, "names shard");

  const fs::path moved = copy_fixture("llama3_sharded", "moved");
  {
    nlohmann::json index =
        nlohmann::json::parse(std::ifstream(moved / "model.safetensors.index.json"));
    std::string& file = index["weight_map"]["model.norm.weight"].get_ref<std::string&>();
    file = file == "model-00001-of-00002.safetensors" ? "model-00002-of-00002.safetensors"
                                                      : "model-00001-of-00002.safetensors";
    std::ofstream(moved / "model.safetensors.index.json") << index.dump();
  }
  expect_one_line_error(moved, "puts 'model.norm.weight' in model-0000");

  const fs::path untied = copy_fixture("llama3_sharded", "untied");
  edit_config(untied, [](nlohmann::json& c) { c["tie_word_embeddings"] = false; });
  expect_one_line_error(untied, "has no tensor 'lm_head.weight'");

  const fs::path shape = copy_fixture("llama_tiny", "shape");
  edit_config(shape, [](nlohmann::json& c) { c["intermediate_size"] = 48; });
  expect_one_line_error(shape,
                        "tensor 'model.layers.0.mlp.gate_proj.weight' has shape [64, 32], "
                        "expected [48, 32]");

  const fs::path extra = copy_fixture("llama_tiny", "extra");
  edit_config(extra, [](nlohmann::json& c) { c["num_hidden_layers"] = 1; });
  expect_one_line_error(extra, "unexpected tensor 'model.layers.1.");

  const fs::path none = copy_fixture("llama_tiny", "no_weights");
  fs::remove(none / "model.safetensors");
  expect_one_line_error(none, "has neither model.safetensors nor model.safetensors.index.json");
}

}  // namespace
}  // namespace kiln::testing
