// Runs the `kiln` binary as a user would and checks what it prints against what transformers
// computed for the fixture (tests/models/fixtures/tiny_gpt2/expected.json, written by
// scripts/make_gpt2_fixture.py), and that every bad input ends in one "kiln: ..." line.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {
namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kFixture = fs::path(KILN_MODEL_FIXTURES) / "tiny_gpt2";

json expected() {
  std::ifstream in(kFixture / "expected.json");
  return json::parse(in);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Single quotes for /bin/sh: everything literal, a ' closes, escapes and reopens.
std::string shell_quote(const std::string& arg) {
  std::string out = "'";
  for (const char c : arg) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

struct Result {
  int status = -1;  // exit status; 124 when `timeout` had to stop a hang
  std::string out;
  std::string err;
};

// Everything this process writes, in one directory per process (ctest runs tests in parallel),
// removed when the tests end.
fs::path work_dir() {
  return fs::path(::testing::TempDir()) / ("kiln_cli_tests_" + std::to_string(::getpid()));
}

class RemoveWorkDir : public ::testing::Environment {
 public:
  void TearDown() override { fs::remove_all(work_dir()); }
};
[[maybe_unused]] ::testing::Environment* const kRemoveWorkDir =
    ::testing::AddGlobalTestEnvironment(new RemoveWorkDir);

fs::path scratch(const std::string& name) {
  const fs::path dir = work_dir() / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Runs `kiln args...` with stdout and stderr captured to files; a hang fails after 120 s.
Result run(const std::vector<std::string>& args) {
  fs::create_directories(work_dir());
  const fs::path out = work_dir() / "stdout.txt";
  const fs::path err = work_dir() / "stderr.txt";
  std::string command = "timeout 120 " + shell_quote(KILN_BINARY);
  for (const std::string& a : args) command += " " + shell_quote(a);
  command += " >" + shell_quote(out.string()) + " 2>" + shell_quote(err.string());
  const int raw = std::system(command.c_str());
  Result r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

std::string describe(const Result& r) {
  return "status " + std::to_string(r.status) + "\nstdout: " + r.out + "\nstderr: " + r.err;
}

// The contract for bad input: non-zero status, exactly one stderr line "kiln: ...", no output.
void expect_one_line_error(const std::vector<std::string>& args, const std::string& needle) {
  std::string shown;
  for (const std::string& a : args) shown += " " + a;
  SCOPED_TRACE("kiln" + shown);
  const Result r = run(args);
  EXPECT_NE(r.status, 0) << describe(r);
  EXPECT_NE(r.status, 124) << "timed out";
  EXPECT_LT(r.status, 128) << "killed by a signal: " << describe(r);
  EXPECT_TRUE(r.err.starts_with("kiln: ")) << describe(r);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << describe(r);
  EXPECT_TRUE(r.err.ends_with("\n")) << describe(r);
  EXPECT_LT(r.err.size(), 400u) << "a clear line, not a dump: " << describe(r);
  EXPECT_NE(r.err.find(needle), std::string::npos) << "expected '" << needle << "'\n"
                                                   << describe(r);
  EXPECT_EQ(r.out, "") << describe(r);
}

json run_json(const std::vector<std::string>& args) {
  const Result r = run(args);
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(r.err, "");
  return json::parse(r.out);
}

// A copy of the fixture directory, to break.
fs::path copy_fixture(const std::string& name) {
  const fs::path dir = scratch(name);
  for (const auto& entry : fs::directory_iterator(kFixture))
    fs::copy_file(entry.path(), dir / entry.path().filename());
  return dir;
}

const std::string kModel = kFixture.string();

TEST(Cli, EvalMatchesTransformersLoss) {
  const json want = expected();
  for (const json& t : want["texts"]) {
    const std::string text = t["text"].get<std::string>();
    const json got = run_json({"eval", "--model", kModel, "--text", text, "--json"});
    const double loss = t["loss"].get<double>();
    EXPECT_NEAR(got["loss"].get<double>(), loss, 1e-4 * loss) << text;
    EXPECT_EQ(got["tokens"].get<int64_t>(), static_cast<int64_t>(t["ids"].size()) - 1) << text;
    EXPECT_NEAR(got["perplexity"].get<double>(), std::exp(got["loss"].get<double>()),
                1e-9 * got["perplexity"].get<double>());
  }
}

TEST(Cli, EvalOfAFileLongerThanTheContextUsesTheSlidingWindow) {
  const json want = expected()["long_text"];
  const fs::path file = scratch("eval_file") / "long.txt";
  std::ofstream(file, std::ios::binary) << want["text"].get<std::string>();
  const json got = run_json({"eval", "--model", kModel, "--file", file.string(), "--json"});
  const double loss = want["loss"].get<double>();
  EXPECT_NEAR(got["loss"].get<double>(), loss, 1e-4 * loss);
  EXPECT_EQ(got["tokens"].get<int64_t>(), static_cast<int64_t>(want["ids"].size()) - 1);
}

TEST(Cli, EvalWithoutJsonPrintsOneReadableLine) {
  const Result r = run({"eval", "--model", kModel, "--text", "The quick brown fox"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_TRUE(r.out.starts_with("loss ")) << r.out;
  EXPECT_NE(r.out.find("perplexity"), std::string::npos) << r.out;
}

TEST(Cli, TokenizeMatchesTransformersIds) {
  const json want = expected();
  std::vector<std::pair<std::string, json>> cases;
  for (const json& t : want["texts"]) cases.emplace_back(t["text"], t["ids"]);
  cases.emplace_back(want["long_text"]["text"], want["long_text"]["ids"]);
  cases.emplace_back(want["generation"]["prompt"], want["generation"]["prompt_ids"]);
  for (const auto& [text, ids] : cases) {
    const json got = run_json({"tokenize", "--tokenizer", kModel, "--text", text, "--json"});
    EXPECT_EQ(got["ids"], ids) << text;
  }
}

TEST(Cli, TokenizeTableShowsEveryToken) {
  const Result r = run({"tokenize", "--tokenizer", kModel, "--text", "Les élèves"});
  EXPECT_EQ(r.status, 0) << describe(r);
  const json ids = expected()["generation"]["prompt_ids"];
  for (const json& id : ids)
    EXPECT_NE(r.out.find(std::to_string(id.get<int64_t>())), std::string::npos);
  EXPECT_NE(r.out.find(std::to_string(ids.size()) + " tokens"), std::string::npos) << r.out;
  // "ç" is two byte tokens in the small vocabulary: each shows its byte, not U+FFFD.
  const Result cut = run({"tokenize", "--tokenizer", kModel, "--text", "ça"});
  EXPECT_NE(cut.out.find(R"("\xC3")"), std::string::npos) << cut.out;
  EXPECT_NE(cut.out.find(R"("\xA7")"), std::string::npos) << cut.out;
}

TEST(Cli, GreedyGenerateMatchesTransformersGenerate) {
  const json want = expected()["generation"];
  const std::string prompt = want["prompt"].get<std::string>();
  const std::string n = std::to_string(want["max_new_tokens"].get<int64_t>());
  const json got = run_json({"generate", "--model", kModel, "--prompt", prompt, "--max-new-tokens",
                             n, "--greedy", "--json"});
  EXPECT_EQ(got["ids"], want["ids"]);
  EXPECT_EQ(got["text"], want["text"]);
  // Streaming prints the prompt, then the same continuation.
  const Result streamed =
      run({"generate", "--model", kModel, "--prompt", prompt, "--max-new-tokens", n, "--greedy"});
  EXPECT_EQ(streamed.status, 0) << describe(streamed);
  EXPECT_EQ(streamed.out, prompt + want["text"].get<std::string>() + "\n");
}

TEST(Cli, SampledGenerateIsReproducibleBySeed) {
  auto sample = [](const std::string& seed) {
    return run_json({"generate", "--model", kModel, "--prompt", "Les élèves", "--max-new-tokens",
                     "10", "--temperature", "1.5", "--top-k", "50", "--top-p", "0.95", "--seed",
                     seed, "--json"})["ids"];
  };
  const json a = sample("7");
  EXPECT_EQ(a.size(), 10u);
  EXPECT_EQ(a, sample("7"));
  // Decimal, whatever the leading zeros (CLI11 alone would read 010 as octal 8).
  EXPECT_EQ(run_json({"generate", "--model", kModel, "--prompt", "Les", "--max-new-tokens", "010",
                      "--seed", "18446744073709551615", "--json"})["ids"]
                .size(),
            10u);
  const json zero = run_json(
      {"generate", "--model", kModel, "--prompt", "Les", "--max-new-tokens", "0", "--json"});
  EXPECT_EQ(zero["ids"], json::array());
  EXPECT_EQ(zero["text"], "");
}

TEST(Cli, AttentionWritesOneCsvPerLayerAndHead) {
  const fs::path out = scratch("attention") / "maps";
  const Result r =
      run({"attention", "--model", kModel, "--prompt", "Les élèves", "--out", out.string()});
  ASSERT_EQ(r.status, 0) << describe(r);
  const json ids = expected()["generation"]["prompt_ids"];
  const std::string tokens = read_file(out / "tokens.csv");
  EXPECT_TRUE(tokens.starts_with("position,id,token\n")) << tokens;
  EXPECT_EQ(std::count(tokens.begin(), tokens.end(), '\n'), static_cast<long>(ids.size()) + 1);
  for (int layer = 0; layer < 2; ++layer) {
    for (int head = 0; head < 4; ++head) {
      const std::string csv = read_file(
          out / ("layer" + std::to_string(layer) + "_head" + std::to_string(head) + ".csv"));
      EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), static_cast<long>(ids.size()));
      EXPECT_EQ(std::count(csv.begin(), csv.end(), ','),
                static_cast<long>(ids.size() * (ids.size() - 1)));
    }
  }
  size_t files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(out)) ++files;
  EXPECT_EQ(files, 1u + 2u * 4u) << "no temporary files left behind";
  expect_one_line_error(
      {"attention", "--model", kModel, "--prompt", "Les", "--out", (out / "tokens.csv").string()},
      "tokens.csv");
}

TEST(Cli, InfoRuns) {
  const Result r = run({"info"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_TRUE(r.out.starts_with("kiln ")) << r.out;
  EXPECT_NE(r.out.find("CUDA"), std::string::npos) << r.out;
}

TEST(Cli, HelpOfEverySubcommandExitsZero) {
  for (const char* command : {"generate", "eval", "tokenize", "attention", "bench", "info"}) {
    const Result r = run({command, "--help"});
    EXPECT_EQ(r.status, 0) << command << ": " << describe(r);
    EXPECT_NE(r.out.find(command), std::string::npos) << r.out;
  }
  const Result top = run({"--help"});
  EXPECT_EQ(top.status, 0) << describe(top);
  for (const char* command : {"generate", "eval", "tokenize", "attention", "bench", "info"})
    EXPECT_NE(top.out.find(command), std::string::npos) << top.out;
}

TEST(Cli, MissingOrBrokenModelDirectoriesAreOneLineErrors) {
  const std::string missing = (scratch("missing") / "no_such_model").string();
  expect_one_line_error({"generate", "--model", missing, "--prompt", "hi"}, "no_such_model");
  expect_one_line_error({"eval", "--model", missing, "--text", "hi there"}, "no_such_model");
  expect_one_line_error({"attention", "--model", missing, "--prompt", "hi", "--out",
                         (scratch("unused") / "out").string()},
                        "no_such_model");
  expect_one_line_error({"tokenize", "--tokenizer", missing, "--text", "hi"}, "no_such_model");

  const fs::path no_config = copy_fixture("no_config");
  fs::remove(no_config / "config.json");
  expect_one_line_error({"generate", "--model", no_config.string(), "--prompt", "hi"},
                        "config.json");

  const fs::path bad_json = copy_fixture("bad_json");
  std::ofstream(bad_json / "config.json") << "{\"n_embd\": 16,";
  expect_one_line_error({"eval", "--model", bad_json.string(), "--text", "hi there"},
                        "config.json");

  const fs::path truncated = copy_fixture("truncated");
  fs::resize_file(truncated / "model.safetensors",
                  fs::file_size(truncated / "model.safetensors") / 2);
  expect_one_line_error({"generate", "--model", truncated.string(), "--prompt", "hi"},
                        "model.safetensors");
  fs::resize_file(truncated / "model.safetensors", 5);
  expect_one_line_error({"eval", "--model", truncated.string(), "--text", "hi there"},
                        "model.safetensors");

  const fs::path no_tokenizer = copy_fixture("no_tokenizer");
  fs::remove(no_tokenizer / "vocab.json");
  fs::remove(no_tokenizer / "merges.txt");
  expect_one_line_error({"generate", "--model", no_tokenizer.string(), "--prompt", "hi"},
                        "no_tokenizer");
  const fs::path half_tokenizer = copy_fixture("half_tokenizer");
  fs::remove(half_tokenizer / "merges.txt");
  expect_one_line_error({"tokenize", "--tokenizer", half_tokenizer.string(), "--text", "hi"},
                        "merges.txt");
}

TEST(Cli, BadOptionsAreOneLineErrors) {
  const std::vector<std::string> gen = {"generate", "--model", kModel, "--prompt", "hi"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = gen;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  expect_one_line_error(with({"--bogus"}), "--bogus");
  expect_one_line_error({"frobnicate"}, "frobnicate");
  expect_one_line_error({}, "subcommand");
  expect_one_line_error(with({"--max-new-tokens", "abc"}), "max-new-tokens");
  expect_one_line_error(with({"--max-new-tokens", "-1"}), "max-new-tokens");
  expect_one_line_error(with({"--max-new-tokens"}), "max-new-tokens");
  expect_one_line_error(with({"--top-p", "2"}), "top-p");
  expect_one_line_error(with({"--top-p", "0"}), "top-p");
  expect_one_line_error(with({"--top-k", "-3"}), "top-k");
  expect_one_line_error(with({"--temperature", "0"}), "temperature");
  expect_one_line_error(with({"--temperature", "warm"}), "temperature");
  expect_one_line_error(with({"--seed", "-1"}), "seed");
  expect_one_line_error(with({"--seed", "18446744073709551616"}), "seed");
  expect_one_line_error(with({"--max-new-tokens", "0x3"}), "max-new-tokens");
  expect_one_line_error(with({"--top-k", "99999999999999999999"}), "top-k");
  expect_one_line_error(with({"--temperature", "inf"}), "temperature");
  expect_one_line_error(with({"--top-p", "nan", "--greedy"}), "top-p");
  expect_one_line_error(with({"--max-new-tokens", "3", "--max-new-tokens", "4"}), "max-new-tokens");
  expect_one_line_error({"generate", "--prompt", "hi"}, "--model");
  expect_one_line_error({"generate", "--model", kModel}, "--prompt");
  expect_one_line_error({"attention", "--model", kModel, "--prompt", "hi"}, "--out");
}

TEST(Cli, BadDevicesAndDtypesAreOneLineErrors) {
  const std::vector<std::string> gen = {"generate", "--model", kModel, "--prompt", "hi"};
  const std::vector<std::string> eval = {"eval", "--model", kModel, "--text", "hi"};
  auto with = [](std::vector<std::string> args, const std::vector<std::string>& extra) {
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  expect_one_line_error(with(gen, {"--dtype", "bf16"}),
                        "[generate] --dtype bf16 needs --device cuda");
  expect_one_line_error(with(eval, {"--dtype", "f16", "--device", "cpu"}),
                        "[eval] --dtype f16 needs --device cuda");
  expect_one_line_error(with(gen, {"--dtype", "i64"}), "--dtype i64 is not one of f32, bf16, f16");
  expect_one_line_error(with(eval, {"--device", "tpu"}), "tpu");
}

// The number of CUDA devices `kiln info` reports (0 in a CPU-only build).
int visible_cuda_devices() {
  const Result r = run({"info"});
  const std::string key = "CUDA devices visible: ";
  const size_t at = r.out.find(key);
  return at == std::string::npos ? 0 : std::stoi(r.out.substr(at + key.size()));
}

TEST(Cli, GenerateAndEvalOnCudaMatchTheCpu) {
  if (visible_cuda_devices() == 0) {
    // As KILN_SKIP_WITHOUT_CUDA (tests/require_cuda.h), which needs kiln_core, not linked here.
    const char* required = std::getenv("KILN_REQUIRE_CUDA");
    if (required != nullptr && std::string(required) != "" && std::string(required) != "0")
      GTEST_FAIL() << "no CUDA device visible, and KILN_REQUIRE_CUDA is set";
    GTEST_SKIP() << "no CUDA device";
  }
  const json want = expected()["generation"];
  const std::string prompt = want["prompt"].get<std::string>();
  const std::string n = std::to_string(want["max_new_tokens"].get<int64_t>());
  const json got = run_json({"generate", "--model", kModel, "--prompt", prompt, "--max-new-tokens",
                             n, "--greedy", "--json", "--device", "cuda"});
  EXPECT_EQ(got["ids"], want["ids"]);
  const std::vector<std::string> eval = {
      "eval",  "--model", kModel, "--text", "The quick brown fox jumps over the lazy dog.",
      "--json"};
  const json cpu = run_json(eval);
  std::vector<std::string> on_cuda = eval;
  on_cuda.insert(on_cuda.end(), {"--device", "cuda"});
  EXPECT_NEAR(run_json(on_cuda)["loss"].get<double>(), cpu["loss"].get<double>(),
              1e-4 * cpu["loss"].get<double>());
  on_cuda.insert(on_cuda.end(), {"--dtype", "bf16"});
  EXPECT_NEAR(run_json(on_cuda)["loss"].get<double>(), cpu["loss"].get<double>(),
              2e-2 * cpu["loss"].get<double>());
}

TEST(Cli, PromptsLongerThanTheContextAreOneLineErrors) {
  std::string long_prompt;
  for (int i = 0; i < 30; ++i) long_prompt += " the";  // block_size is 24
  expect_one_line_error({"generate", "--model", kModel, "--prompt", long_prompt}, "context");
  const fs::path out = scratch("attention_long") / "maps";
  expect_one_line_error(
      {"attention", "--model", kModel, "--prompt", long_prompt, "--out", out.string()}, "context");
  EXPECT_FALSE(fs::exists(out)) << "nothing written on error";
  expect_one_line_error({"generate", "--model", kModel, "--prompt", ""}, "prompt");
  expect_one_line_error({"attention", "--model", kModel, "--prompt", "", "--out", out.string()},
                        "prompt");
  expect_one_line_error({"eval", "--model", kModel, "--text", "a"}, "2 tokens");
}

TEST(Cli, TextInputsAreOneLineErrors) {
  const fs::path file = scratch("text_inputs") / "input.txt";
  std::ofstream(file) << "some text";
  const std::string missing = (file.parent_path() / "absent.txt").string();
  for (const char* command : {"eval", "tokenize"}) {
    const std::vector<std::string> base = {
        command, std::string(command) == "eval" ? "--model" : "--tokenizer", kModel};
    auto with = [&](std::vector<std::string> extra) {
      std::vector<std::string> args = base;
      args.insert(args.end(), extra.begin(), extra.end());
      return args;
    };
    expect_one_line_error(with({"--text", "hello", "--file", file.string()}), "--");
    expect_one_line_error(with({}), "--text");
    expect_one_line_error(with({"--file", missing}), "absent.txt");
    expect_one_line_error(with({"--file", file.parent_path().string()}), "directory");
    expect_one_line_error(with({"--text", "bad \xff utf-8"}), "UTF-8");
  }
  expect_one_line_error({"generate", "--model", kModel, "--prompt", "bad \xc3 utf-8"}, "UTF-8");
}

// kiln bench scaling: the course's Experiment 7.

TEST(Cli, BenchScalingBadFlagsAreOneLineErrors) {
  auto with = [](std::vector<std::string> extra) {
    std::vector<std::string> args = {"bench", "scaling"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  expect_one_line_error(with({"--max-t", "0"}), "max-t");
  expect_one_line_error(with({"--min-t", "abc"}), "min-t");
  expect_one_line_error(with({"--width", "-4"}), "width");
  expect_one_line_error(with({"--batch", "0x2"}), "batch");
  expect_one_line_error(with({"--repeats", "0"}), "repeats");
  expect_one_line_error(with({"--budget", "0"}), "budget");
  expect_one_line_error(with({"--min-t", "128", "--max-t", "64"}),
                        "--min-t 128 is larger than --max-t 64");
  expect_one_line_error(with({"--device", "tpu"}), "tpu");
  expect_one_line_error(with({"--frobnicate"}), "--frobnicate");
  expect_one_line_error({"bench"}, "subcommand");
  expect_one_line_error({"bench", "nonsense"}, "nonsense");
}

// The CSV's rows as field lists (the fields written here hold no quotes or commas).
std::vector<std::vector<std::string>> read_csv(const fs::path& path) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> fields(1);
    for (const char c : line) {
      if (c == ',')
        fields.emplace_back();
      else
        fields.back() += c;
    }
    rows.push_back(fields);
  }
  return rows;
}

TEST(Cli, BenchScalingTinyRunWritesAWellFormedCsv) {
  const fs::path csv = scratch("bench_scaling") / "scaling.csv";
  const Result r = run({"bench", "scaling", "--max-t", "64", "--repeats", "1", "--width", "16",
                        "--batch", "2", "--csv", csv.string()});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(r.err, "");
  EXPECT_NE(r.out.find("attention_naive"), std::string::npos) << r.out;
  const auto rows = read_csv(csv);
  ASSERT_EQ(rows.size(), 1u + 2 * 4) << read_file(csv);  // header, T = 32 and 64 x 4 methods
  EXPECT_EQ(rows[0],
            (std::vector<std::string>{"device", "width", "batch", "method", "implementation", "T",
                                      "median_ms", "min_ms", "repeats", "note"}));
  std::map<std::string, int> per_method;
  for (size_t i = 1; i < rows.size(); ++i) {
    const auto& row = rows[i];
    ASSERT_EQ(row.size(), 10u) << i;
    EXPECT_EQ(row[0], "cpu");
    EXPECT_EQ(row[1], "16");
    EXPECT_EQ(row[2], "2");
    ++per_method[row[3]];
    EXPECT_EQ(row[4], "kiln");
    EXPECT_EQ(row[5], i <= 4 ? "32" : "64");
    EXPECT_GT(std::stod(row[6]), 0.0) << row[3];
    EXPECT_LE(std::stod(row[7]), std::stod(row[6])) << row[3];
    EXPECT_EQ(row[8], "1");
    EXPECT_EQ(row[9], "");
  }
  EXPECT_EQ(per_method,
            (std::map<std::string, int>{
                {"rnn", 2}, {"lstm", 2}, {"attention_naive", 2}, {"attention_fused", 2}}));
}

TEST(Cli, BenchScalingSkipsWhatWouldExceedTheBudget) {
  const fs::path csv = scratch("bench_scaling_budget") / "scaling.csv";
  const Result r = run({"bench", "scaling", "--max-t", "16", "--min-t", "8", "--repeats", "1",
                        "--width", "8", "--budget", "1e-9", "--csv", csv.string()});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(r.out.find("over budget"), std::string::npos) << r.out;
  const auto rows = read_csv(csv);
  ASSERT_EQ(rows.size(), 9u) << read_file(csv);
  for (size_t i = 1; i < rows.size(); ++i) {
    if (rows[i][5] == "8") {
      EXPECT_NE(rows[i][6], "") << "the first T always runs";
    } else {
      EXPECT_EQ(rows[i][6], "") << rows[i][3];
      EXPECT_EQ(rows[i][8], "0");
      EXPECT_TRUE(rows[i][9].starts_with("over budget from T=16")) << rows[i][9];
    }
  }
}

TEST(Cli, BenchScalingPlotWritesAPng) {
  if (std::system("/usr/bin/python3 -c 'import matplotlib' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "no /usr/bin/python3 with matplotlib (Debian: python3-matplotlib)";
  const fs::path png = scratch("bench_scaling_plot") / "scaling.png";
  const Result r = run({"bench", "scaling", "--max-t", "32", "--repeats", "1", "--width", "8",
                        "--plot", png.string()});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_TRUE(read_file(png).starts_with("\x89PNG")) << describe(r);
}

// The steps' records (no "type") of a run's metrics.jsonl, by step.
std::map<int64_t, json> step_records(const fs::path& out_dir) {
  std::map<int64_t, json> records;
  std::istringstream lines(read_file(out_dir / "metrics.jsonl"));
  std::string line;
  while (std::getline(lines, line)) {
    const json record = json::parse(line);
    if (!record.contains("type")) records[record["step"].get<int64_t>()] = record;
  }
  return records;
}

// What a user does: train 15 steps, then `--resume` to 30. The first run ends with an
// evaluation (validation loss and generation) and a checkpoint; none of that may change what
// the resumed steps see, so they match an uninterrupted 30-step run bit for bit. Dropout is on,
// so the checkpoint must hold the dropout RNG as training left it.
TEST(Cli, TrainResumedThroughTheCliReproducesTheUninterruptedRun) {
  const std::vector<std::string> recipe = {"--set", "data=synthetic:addition",
                                           "--set", "n_layer=2",
                                           "--set", "n_head=2",
                                           "--set", "n_embd=32",
                                           "--set", "block_size=16",
                                           "--set", "batch_size=8",
                                           "--set", "dropout=0.1",
                                           "--set", "lr_schedule=constant",
                                           "--set", "warmup_steps=0",
                                           "--set", "seed=5",
                                           "--set", "ckpt_interval=15",
                                           "--set", "eval_interval=0",
                                           "--set", "eval_steps=2",
                                           "--set", "eval_examples=20",
                                           "--set", "log_interval=100"};
  auto train = [&](const fs::path& out, int64_t steps) {
    std::vector<std::string> args = {"train"};
    args.insert(args.end(), recipe.begin(), recipe.end());
    args.insert(args.end(), {"--set", "max_steps=" + std::to_string(steps), "--set",
                             "out_dir=" + out.string()});
    const Result r = run(args);
    ASSERT_EQ(r.status, 0) << describe(r);
  };
  const fs::path whole = scratch("train_whole"), parts = scratch("train_parts");
  train(whole, 30);
  train(parts, 15);
  const Result resumed = run({"train", "--resume", parts.string(), "--set", "max_steps=30"});
  ASSERT_EQ(resumed.status, 0) << describe(resumed);
  EXPECT_NE(resumed.out.find("resumed at step 15"), std::string::npos) << resumed.out;
  const auto a = step_records(whole), b = step_records(parts);
  ASSERT_EQ(a.size(), 30u);
  ASSERT_EQ(b.size(), 30u);
  for (int64_t step = 1; step <= 30; ++step) {
    EXPECT_EQ(a.at(step)["loss"].get<double>(), b.at(step)["loss"].get<double>())
        << "step " << step;
    EXPECT_EQ(a.at(step)["grad_norm"].get<double>(), b.at(step)["grad_norm"].get<double>())
        << "step " << step;
  }
  EXPECT_TRUE(read_file(whole / "checkpoints/step_00000030/model.safetensors") ==
              read_file(parts / "checkpoints/step_00000030/model.safetensors"))
      << "the final weights differ";
}

}  // namespace
