// The kiln binary on a Llama-family model: train (model = "llama"), then generate, eval and
// attention on the run's directory, and a transformers-made Llama directory for the errors.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {
namespace fs = std::filesystem;

struct Result {
  int status = -1;
  std::string out;
  std::string err;
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

fs::path work_dir() {
  return fs::path(::testing::TempDir()) / ("kiln_llama_cli_" + std::to_string(::getpid()));
}

class RemoveWorkDir : public ::testing::Environment {
 public:
  void TearDown() override { fs::remove_all(work_dir()); }
};
[[maybe_unused]] ::testing::Environment* const kRemoveWorkDir =
    ::testing::AddGlobalTestEnvironment(new RemoveWorkDir);

// `kiln args...` (no argument holds a single quote) with stdout and stderr captured.
Result run(const std::vector<std::string>& args) {
  fs::create_directories(work_dir());
  const fs::path out = work_dir() / "stdout.txt", err = work_dir() / "stderr.txt";
  std::string command = "timeout 120 '" + std::string(KILN_BINARY) + "'";
  for (const std::string& a : args) command += " '" + a + "'";
  command += " >'" + out.string() + "' 2>'" + err.string() + "'";
  const int raw = std::system(command.c_str());
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw), read_file(out), read_file(err)};
}

std::string describe(const Result& r) {
  return "status " + std::to_string(r.status) + "\nstdout: " + r.out + "\nstderr: " + r.err;
}

TEST(LlamaCli, TrainThenGenerateEvalAndAttention) {
  const fs::path dir = work_dir() / "run";
  fs::remove_all(dir);
  const Result trained = run({"train",
                              "--set",
                              "model=llama",
                              "--set",
                              "data=synthetic:addition:2",
                              "--set",
                              "n_layer=2",
                              "--set",
                              "n_head=4",
                              "--set",
                              "n_kv_head=2",
                              "--set",
                              "n_embd=32",
                              "--set",
                              "block_size=16",
                              "--set",
                              "batch_size=8",
                              "--set",
                              "max_steps=6",
                              "--set",
                              "warmup_steps=1",
                              "--set",
                              "eval_examples=0",
                              "--set",
                              "out_dir=" + dir.string()});
  ASSERT_EQ(trained.status, 0) << describe(trained);

  const Result generated = run({"generate", "--model", dir.string(), "--prompt",
                                "12+34=", "--max-new-tokens", "4", "--greedy", "--json"});
  ASSERT_EQ(generated.status, 0) << describe(generated);
  EXPECT_EQ(nlohmann::json::parse(generated.out)["ids"].size(), 4u);

  const Result evaluated = run({"eval", "--model", dir.string(), "--text", "12+34=46\n", "--json"});
  ASSERT_EQ(evaluated.status, 0) << describe(evaluated);
  EXPECT_GT(nlohmann::json::parse(evaluated.out)["loss"].get<double>(), 0.0);

  const fs::path maps = work_dir() / "maps";
  fs::remove_all(maps);
  const Result attended =
      run({"attention", "--model", dir.string(), "--prompt", "1+2=", "--out", maps.string()});
  ASSERT_EQ(attended.status, 0) << describe(attended);
  // 2 layers x 4 query heads (the kv heads are shared, the maps are per query head).
  EXPECT_TRUE(fs::exists(maps / "layer1_head3.csv"));
  EXPECT_FALSE(fs::exists(maps / "layer2_head0.csv"));
}

TEST(LlamaCli, UnsupportedConfigIsOneLine) {
  const fs::path dir = work_dir() / "moe";
  fs::remove_all(dir);
  fs::create_directories(work_dir());
  fs::copy(fs::path(KILN_MODEL_FIXTURES) / "llama_tiny", dir);
  nlohmann::json config = nlohmann::json::parse(read_file(dir / "config.json"));
  config["num_local_experts"] = 8;
  std::ofstream(dir / "config.json") << config.dump();
  const Result r = run({"eval", "--model", dir.string(), "--text", "hi"});
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(r.err.starts_with("kiln: ")) << describe(r);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << describe(r);
  EXPECT_NE(r.err.find("num_local_experts"), std::string::npos) << describe(r);
}

}  // namespace
