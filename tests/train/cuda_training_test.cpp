// Training on CUDA end to end through run_training, against the same run on the CPU: f32 with
// TF32 off follows the CPU's loss curve to 1e-4, bf16 to bf16 precision, and a longer bf16 run
// learns. All skip without a device.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/ops/matmul.h"
#include "train/trainer.h"
#include "tests/require_cuda.h"

namespace kiln::train {
namespace {
namespace fs = std::filesystem;

class CudaTraining : public ::testing::Test {
 protected:
  void SetUp() override {
    KILN_SKIP_WITHOUT_CUDA();
    ASSERT_FALSE(allow_tf32()) << "these comparisons assume TF32 off (the default)";
  }
};

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("kiln_cuda_training_" + name);
  fs::remove_all(dir);
  return dir;
}

// A tiny GPT (2 layers, n_embd 32, vocabulary 17) on 2-digit addition, without dropout so the
// two devices see the same function.
TrainConfig tiny_run(const std::string& device, const std::string& dtype, int64_t steps) {
  TrainConfig c;
  c.data = "synthetic:addition:2";
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 32;
  c.vocab_size = 17;
  c.block_size = 9;
  c.batch_size = 16;
  c.max_steps = steps;
  c.warmup_steps = 2;
  c.learning_rate = 3e-3;
  c.dropout = 0.0;
  c.eval_interval = 0;
  c.eval_examples = 0;
  c.ckpt_interval = 0;
  c.keep_checkpoints = 1;
  c.log_interval = 1000;
  c.device = device;
  c.dtype = dtype;
  c.out_dir = fresh_dir(device + "_" + dtype + "_" + std::to_string(steps)).string();
  return c;
}

// The loss of every step, from the run's metrics.jsonl.
std::vector<double> losses(const TrainConfig& config) {
  std::vector<double> out;
  std::ifstream in(fs::path(config.out_dir) / "metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    const auto record = nlohmann::json::parse(line);
    if (!record.contains("type")) out.push_back(record.at("loss").get<double>());
  }
  return out;
}

std::vector<double> train(const TrainConfig& config) {
  run_training(config, std::nullopt, {});
  return losses(config);
}

TEST_F(CudaTraining, F32FollowsTheCpuLossCurve) {
  const std::vector<double> cpu = train(tiny_run("cpu", "f32", 10));
  const std::vector<double> cuda = train(tiny_run("cuda", "f32", 10));
  ASSERT_EQ(cpu.size(), 10u);
  ASSERT_EQ(cuda.size(), 10u);
  for (size_t i = 0; i < cpu.size(); ++i)
    EXPECT_NEAR(cuda[i], cpu[i], 1e-4 * std::max(1.0, std::abs(cpu[i]))) << "step " << i + 1;
}

TEST_F(CudaTraining, Bf16FollowsTheCpuLossCurveToBf16Precision) {
  const std::vector<double> cpu = train(tiny_run("cpu", "f32", 10));
  const std::vector<double> cuda = train(tiny_run("cuda", "bf16", 10));
  ASSERT_EQ(cpu.size(), 10u);
  ASSERT_EQ(cuda.size(), 10u);
  for (size_t i = 0; i < cpu.size(); ++i)
    EXPECT_NEAR(cuda[i], cpu[i], 2e-2 * std::abs(cpu[i])) << "step " << i + 1;
}

TEST_F(CudaTraining, Bf16RunLearns) {
  TrainConfig config = tiny_run("cuda", "bf16", 300);
  config.n_head = 4;
  config.n_embd = 64;
  config.batch_size = 64;
  config.learning_rate = 6e-3;
  config.warmup_steps = 30;
  const std::vector<double> curve = train(config);
  ASSERT_EQ(curve.size(), 300u);
  // The answer digits start near uniform (ln 13 ~ 2.6); a model that learnt the carries is far
  // below. The mean of the last 10 steps smooths batch noise.
  double tail = 0.0;
  for (size_t i = curve.size() - 10; i < curve.size(); ++i) tail += curve[i] / 10.0;
  EXPECT_LT(tail, 0.3 * curve.front()) << "first " << curve.front() << ", last 10 mean " << tail;
}

}  // namespace
}  // namespace kiln::train
