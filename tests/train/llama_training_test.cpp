// `kiln train` with model = "llama": a fresh run, its resume, and fine-tuning a Hugging Face
// Llama directory (the fixture of scripts/make_llama_fixture.py).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "models/llama.h"
#include "models/pretrained.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace kiln::train {
namespace {
namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("kiln_llama_train_" + name);
  fs::remove_all(dir);
  return dir;
}

TrainConfig tiny_llama_run(const fs::path& out_dir) {
  TrainConfig c;
  c.model = "llama";
  c.data = "synthetic:addition:2";
  c.n_layer = 2;
  c.n_head = 4;
  c.n_kv_head = 2;
  c.n_embd = 32;
  c.block_size = 16;
  c.batch_size = 8;
  c.max_steps = 8;
  c.warmup_steps = 2;
  c.eval_interval = 0;
  c.eval_examples = 0;
  c.ckpt_interval = 4;
  c.keep_checkpoints = 5;
  c.log_interval = 100;
  c.tie_embeddings = false;
  c.out_dir = out_dir.string();
  return c;
}

std::vector<double> losses(const fs::path& out_dir) {
  std::vector<double> out;
  std::ifstream in(out_dir / "metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    const auto record = nlohmann::json::parse(line);
    if (!record.contains("type")) out.push_back(record["loss"].get<double>());
  }
  return out;
}

TEST(LlamaTraining, TrainsChecksInAsLlamaAndResumesExactly) {
  const fs::path whole = fresh_dir("whole"), parts = fresh_dir("parts");
  const TrainSummary s = run_training(tiny_llama_run(whole), std::nullopt, {});
  EXPECT_LT(s.last_loss, losses(whole).front());
  const auto model = models::load_pretrained(s.checkpoint);
  ASSERT_EQ(model->model_type(), "llama");
  const auto& config = dynamic_cast<const models::Llama&>(*model).config();
  EXPECT_EQ(config.n_kv_head, 2);
  EXPECT_EQ(config.intermediate_size, 128);  // 8/3 · 32 rounded up to a multiple of 64
  EXPECT_FALSE(config.tie_word_embeddings);

  run_training(tiny_llama_run(parts), std::nullopt, {});
  fs::remove_all(parts / "checkpoints" / "step_00000008");
  EXPECT_EQ(run_training(TrainConfig{}, parts, {}).steps, 8);
  EXPECT_EQ(losses(whole), losses(parts));
  EXPECT_EQ(read_text_file(whole / "checkpoints/step_00000008/model.safetensors", "test"),
            read_text_file(parts / "checkpoints/step_00000008/model.safetensors", "test"));
}

TEST(LlamaTraining, FineTunesAHuggingFaceDirectory) {
  const fs::path dir = fresh_dir("init_from");
  TrainConfig c = tiny_llama_run(dir);
  c.init_from = (fs::path(KILN_SOURCE_DIR) / "tests/models/fixtures/qwen2_tiny").string();
  c.max_steps = 2;
  const TrainSummary s = run_training(c, std::nullopt, {});
  const auto model = models::load_pretrained(s.checkpoint);
  EXPECT_EQ(model->model_type(), "qwen2");
  EXPECT_EQ(model->shape().vocab_size, 256);
}

TEST(LlamaTraining, ImpossibleShapesNameTheKey) {
  TrainConfig c = tiny_llama_run(fresh_dir("bad"));
  c.n_kv_head = 3;
  EXPECT_THROW(
      {
        try {
          run_training(c, std::nullopt, {});
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("'n_kv_head' (3)"), std::string::npos) << e.what();
          throw;
        }
      },
      Error);
  c = tiny_llama_run(fresh_dir("bad"));
  c.dropout = 0.1;
  EXPECT_THROW(run_training(c, std::nullopt, {}), Error);
  c = tiny_llama_run(fresh_dir("bad"));
  c.model = "rwkv";
  EXPECT_THROW(run_training(c, std::nullopt, {}), Error);
}

}  // namespace
}  // namespace kiln::train
