#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "models/hf.h"
#include "train/checkpoint.h"
#include "train/mfu.h"
#include "train/trainer.h"

namespace kiln::train {
namespace {
namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("kiln_trainer_" + name);
  fs::remove_all(dir);
  return dir;
}

// A run small enough for a unit test, with dropout on so resuming must restore its RNG.
TrainConfig tiny_run(const fs::path& out_dir) {
  TrainConfig c;
  c.data = "synthetic:addition:2";
  c.n_layer = 1;
  c.n_head = 2;
  c.n_embd = 32;
  c.block_size = 16;
  c.batch_size = 8;
  c.max_steps = 12;
  c.warmup_steps = 2;
  c.dropout = 0.1;
  c.eval_interval = 0;
  c.eval_examples = 0;
  c.ckpt_interval = 6;
  c.keep_checkpoints = 5;
  c.log_interval = 100;
  c.out_dir = out_dir.string();
  return c;
}

std::vector<nlohmann::json> step_records(const fs::path& out_dir) {
  std::vector<nlohmann::json> records;
  std::ifstream in(out_dir / "metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    const auto record = nlohmann::json::parse(line);
    if (!record.contains("type")) records.push_back(record);
  }
  return records;
}

TEST(Trainer, ResumedRunReproducesTheUninterruptedLossCurve) {
  const fs::path whole = fresh_dir("whole"), parts = fresh_dir("parts");
  run_training(tiny_run(whole), std::nullopt, {});
  run_training(tiny_run(parts), std::nullopt, {});
  // Lose the last checkpoint, as a crash after step 6 would, and continue.
  fs::remove_all(parts / "checkpoints" / "step_00000012");
  const TrainSummary resumed = run_training(TrainConfig{}, parts, {});
  EXPECT_EQ(resumed.steps, 12);
  const auto a = step_records(whole), b = step_records(parts);
  ASSERT_EQ(a.size(), 12u);
  ASSERT_EQ(b.size(), 12u) << "metrics of the re-run steps must replace the old ones";
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i]["step"], b[i]["step"]);
    EXPECT_EQ(a[i]["loss"].get<double>(), b[i]["loss"].get<double>()) << "step " << i + 1;
    EXPECT_EQ(a[i]["grad_norm"].get<double>(), b[i]["grad_norm"].get<double>()) << "step " << i + 1;
  }
  EXPECT_EQ(read_text_file(whole / "checkpoints/step_00000012/model.safetensors", "test"),
            read_text_file(parts / "checkpoints/step_00000012/model.safetensors", "test"));
}

TEST(Trainer, OverridesApplyOnResume) {
  const fs::path dir = fresh_dir("extend");
  run_training(tiny_run(dir), std::nullopt, {});
  const TrainSummary more = run_training(TrainConfig{}, dir, {"max_steps=15"});
  EXPECT_EQ(more.steps, 15);
  EXPECT_EQ(step_records(dir).size(), 15u);
}

TEST(Trainer, CheckpointsAreHuggingFaceModelsAndOnlyTheNewestAreKept) {
  const fs::path dir = fresh_dir("keep");
  TrainConfig c = tiny_run(dir);
  c.ckpt_interval = 3;
  c.keep_checkpoints = 2;
  const TrainSummary s = run_training(c, std::nullopt, {});
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir / "checkpoints"))
    names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"step_00000009", "step_00000012"}));
  EXPECT_EQ(latest_checkpoint(dir), dir / "checkpoints" / "step_00000012");
  EXPECT_EQ(s.checkpoint, dir / "checkpoints" / "step_00000012");
  const auto model = models::load_gpt2(s.checkpoint);
  EXPECT_EQ(model->config().n_embd, 32);
  EXPECT_TRUE(fs::exists(s.checkpoint / "char_tokenizer.json"));
  EXPECT_TRUE(fs::exists(s.checkpoint / "optimizer.safetensors"));
  // A character vocabulary has no bos/eos: config.json names none (it named vocab_size - 1).
  const auto config = read_json_file(s.checkpoint / "config.json", "test");
  EXPECT_FALSE(config.contains("bos_token_id")) << config.dump();
  EXPECT_FALSE(config.contains("eos_token_id")) << config.dump();
}

TEST(Trainer, GradientAccumulationMatchesOneLargeBatchInShape) {
  const fs::path dir = fresh_dir("accum");
  TrainConfig c = tiny_run(dir);
  c.grad_accum = 2;
  c.max_steps = 3;
  c.dropout = 0.0;
  const TrainSummary s = run_training(c, std::nullopt, {});
  EXPECT_EQ(s.steps, 3);
  EXPECT_TRUE(std::isfinite(s.last_loss));
}

TEST(Trainer, DivergenceStopsWithAClearMessageOrIsSkipped) {
  const fs::path dir = fresh_dir("nan");
  TrainConfig c = tiny_run(dir);
  c.learning_rate = 1e30;
  c.min_lr = 0;
  c.grad_clip = 0;
  c.dropout = 0;
  try {
    run_training(c, std::nullopt, {});
    FAIL() << "expected the NaN guard to stop the run";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("non-finite"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("nan_policy"), std::string::npos) << e.what();
  }
  c.nan_policy = "skip";
  c.out_dir = fresh_dir("nan_skip").string();
  EXPECT_EQ(run_training(c, std::nullopt, {}).steps, 12);
}

TEST(Trainer, TrainsOnATextFileWithACharTokenizer) {
  const fs::path dir = fresh_dir("text");
  fs::create_directories(dir);
  std::string text;
  for (int i = 0; i < 200; ++i) text += "the quick brown fox jumps over the lazy dog. ";
  write_file_atomically(dir / "corpus.txt", text, "test");
  TrainConfig c = tiny_run(dir / "run");
  c.data = (dir / "corpus.txt").string();
  c.max_steps = 150;
  c.eval_interval = 150;
  c.learning_rate = 5e-3;
  const TrainSummary s = run_training(c, std::nullopt, {});
  ASSERT_TRUE(s.val_loss.has_value());
  // A repetitive text is learnt quickly: far below the uniform loss ln(28) = 3.3.
  EXPECT_LT(s.last_loss, 0.5);
  EXPECT_LT(*s.val_loss, 0.5);
}

TEST(Trainer, BadSettingsAreOneClearError) {
  TrainConfig c = tiny_run(fresh_dir("bad"));
  c.data = "/no/such/file.txt";
  EXPECT_THROW(run_training(c, std::nullopt, {}), Error);
  EXPECT_THROW(run_training(tiny_run(fresh_dir("bad2")), std::nullopt, {"n_embd=31"}), Error);
  EXPECT_THROW(run_training(TrainConfig{}, fresh_dir("none"), {}), Error);  // nothing to resume
  c = tiny_run(fresh_dir("bad3"));
  c.dtype = "bf16";
  c.device = "cpu";
  EXPECT_THROW(run_training(c, std::nullopt, {}), Error);
}

// A model whose vocabulary is smaller than the tokenizer's would index past its embedding.
TEST(Trainer, InitFromAModelWithASmallerVocabularyThanTheTokenizerIsAClearError) {
  const fs::path model_dir = fresh_dir("small_vocab_model");
  models::GPTConfig g;
  g.vocab_size = 5;  // synthetic:addition's characters are more
  g.block_size = 16;
  g.n_layer = 1;
  g.n_head = 2;
  g.n_embd = 8;
  models::save_gpt2(models::GPT(g), model_dir);
  TrainConfig c = tiny_run(fresh_dir("small_vocab_run"));
  c.init_from = model_dir.string();
  try {
    run_training(c, std::nullopt, {});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("vocabulary"), std::string::npos) << message;
    EXPECT_NE(message.find(model_dir.string()), std::string::npos) << message;
  }
}

// train/ may not call infer/: scoring a synthetic task needs the decoder its caller passes.
TEST(Trainer, ScoringATaskWithoutADecoderIsAClearError) {
  TrainConfig c = tiny_run(fresh_dir("no_decoder"));
  c.eval_examples = 10;
  try {
    run_training(c, std::nullopt, {});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("needs a decoder"), std::string::npos) << e.what();
  }
}

// MFU needs a peak: a CPU has none in the table, so records carry mfu only when it is given,
// and then it is tokens/s · training FLOPs per token / peak.
TEST(Trainer, MfuIsReportedOnlyAgainstAKnownPeak) {
  const fs::path without = fresh_dir("mfu_without"), with = fresh_dir("mfu_with");
  TrainConfig c = tiny_run(without);
  c.device = "cpu";
  c.max_steps = 3;
  run_training(c, std::nullopt, {});
  for (const nlohmann::json& r : step_records(without)) EXPECT_FALSE(r.contains("mfu"));

  c.out_dir = with.string();
  c.peak_tflops = 0.5;
  run_training(c, std::nullopt, {});
  const auto model = models::load_gpt2(latest_checkpoint(with));
  const double flops_per_token =
      training_flops_per_token(model->shape(), model->parameter_count(), c.block_size);
  const std::vector<nlohmann::json> records = step_records(with);
  ASSERT_EQ(records.size(), 3u);
  for (const nlohmann::json& r : records) {
    ASSERT_TRUE(r.contains("mfu"));
    EXPECT_NEAR(r["mfu"].get<double>(), r["tokens_per_s"].get<double>() * flops_per_token / 0.5e12,
                1e-12 * r["mfu"].get<double>());
  }
}

}  // namespace
}  // namespace kiln::train

namespace kiln::train {
namespace {

TEST(Trainer, CorruptCheckpointsAreRefusedAndHalfWrittenOnesIgnored) {
  const fs::path dir = fresh_dir("corrupt");
  run_training(tiny_run(dir), std::nullopt, {});
  // A save interrupted before its rename leaves a temporary directory: never taken for a
  // checkpoint.
  fs::create_directories(dir / "checkpoints" / "step_00000099.tmp-1234");
  EXPECT_EQ(latest_checkpoint(dir), dir / "checkpoints" / "step_00000012");
  // A damaged newest checkpoint is refused with an error naming the file; the one before it
  // is untouched.
  fs::resize_file(dir / "checkpoints" / "step_00000012" / "model.safetensors", 100);
  try {
    run_training(TrainConfig{}, dir, {});
    FAIL() << "expected the damaged checkpoint to be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.safetensors"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::exists(dir / "checkpoints" / "step_00000006" / "trainer_state.json"));
  EXPECT_NO_THROW(read_checkpoint(dir / "checkpoints" / "step_00000006"));
}

TEST(Trainer, OverfitsOneBatchToNearZeroLoss) {
  const fs::path dir = fresh_dir("overfit");
  fs::create_directories(dir);
  // Exactly one window: every step sees the same batch.
  write_file_atomically(dir / "tiny.txt", "hello kiln, learn me by heart!", "test");
  TrainConfig c = tiny_run(dir / "run");
  c.data = (dir / "tiny.txt").string();
  c.val_fraction = 0;
  c.block_size = 29;
  c.batch_size = 1;
  c.dropout = 0;
  c.n_embd = 64;
  c.max_steps = 100;
  c.warmup_steps = 10;
  c.learning_rate = 1e-2;
  c.weight_decay = 0;
  EXPECT_LT(run_training(c, std::nullopt, {}).last_loss, 0.05);
}

}  // namespace
}  // namespace kiln::train
