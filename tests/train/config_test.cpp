#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "train/config.h"

namespace kiln::train {
namespace {
namespace fs = std::filesystem;

fs::path write_toml(const std::string& name, const std::string& text) {
  const fs::path path = fs::path(::testing::TempDir()) / (name + ".toml");
  write_file_atomically(path, text, "test");
  return path;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Config, ReadsFlatAndGroupedKeys) {
  const TrainConfig c = load_config(write_toml("ok", R"(
n_layer = 6
learning_rate = 3e-4
bias = false
data = "synthetic:sort"
[optim]
batch_size = 12
weight_decay = 0
)"));
  EXPECT_EQ(c.n_layer, 6);
  EXPECT_DOUBLE_EQ(c.learning_rate, 3e-4);
  EXPECT_FALSE(c.bias);
  EXPECT_EQ(c.data, "synthetic:sort");
  EXPECT_EQ(c.batch_size, 12);
  EXPECT_DOUBLE_EQ(c.weight_decay, 0.0);  // an integer where a float is expected is fine
}

TEST(Config, UnknownKeysWrongTypesAndBadValuesNameTheKey) {
  EXPECT_NE(
      error_of([] { load_config(write_toml("unknown", "n_layers = 3\n")); }).find("'n_layers'"),
      std::string::npos);
  EXPECT_NE(
      error_of([] { load_config(write_toml("type", "n_layer = \"six\"\n")); }).find("'n_layer'"),
      std::string::npos);
  EXPECT_NE(
      error_of([] { load_config(write_toml("syntax", "n_layer = = 3\n")); }).find("syntax.toml"),
      std::string::npos);
  TrainConfig c;
  c.n_embd = 100;
  c.n_head = 3;
  EXPECT_NE(error_of([&] { c.validate(); }).find("'n_embd'"), std::string::npos);
  c = TrainConfig{};
  c.lr_schedule = "linear";
  EXPECT_NE(error_of([&] { c.validate(); }).find("'lr_schedule'"), std::string::npos);
}

TEST(Config, OverridesParseWithTheKeysType) {
  TrainConfig c;
  apply_overrides(c, {"max_steps=2000", "dropout=0.2", "bias=false", "out_dir=runs/a=b"});
  EXPECT_EQ(c.max_steps, 2000);
  EXPECT_DOUBLE_EQ(c.dropout, 0.2);
  EXPECT_FALSE(c.bias);
  EXPECT_EQ(c.out_dir, "runs/a=b");
  EXPECT_NE(error_of([&] { apply_overrides(c, {"max_steps=lots"}); }).find("'max_steps'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { apply_overrides(c, {"bias=yes"}); }).find("'bias'"), std::string::npos);
  EXPECT_NE(error_of([&] { apply_overrides(c, {"nonsense=1"}); }).find("'nonsense'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { apply_overrides(c, {"max_steps"}); }).find("key=value"),
            std::string::npos);
}

TEST(Config, JsonRoundTripKeepsEveryKey) {
  TrainConfig c;
  apply_overrides(c, {"n_layer=7", "tokenizer=/x", "seed=99", "grad_clip=0.5"});
  const TrainConfig back = TrainConfig::from_json(c.to_json());
  EXPECT_EQ(back.to_json(), c.to_json());
}

TEST(Config, ShippedPresetsAreValid) {
  for (const char* name : {"demo.toml", "shakespeare_char.toml", "gpt2_124m.toml",
                           "llama_124m.toml", "llama_smollm135m.toml", "llama_tiny_cpu.toml"}) {
    const TrainConfig c = load_config(fs::path(KILN_SOURCE_DIR) / "configs" / name);
    EXPECT_NO_THROW(c.validate()) << name;
  }
}

}  // namespace
}  // namespace kiln::train
