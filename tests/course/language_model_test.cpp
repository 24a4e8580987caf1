// The LM experiments in their reduced forms: over the tiny GPT-2 fixture (--model), and once
// over a small GPT trained on the course's mini-corpus, cached and reused.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "course/course.h"
#include "course/output.h"

namespace {
namespace fs = std::filesystem;

const std::string kFixture = std::string(KILN_MODEL_FIXTURES) + "/tiny_gpt2";

fs::path work_dir(const std::string& name) {
  return fs::path(::testing::TempDir()) / ("kiln_course_lm_tests_" + std::to_string(::getpid())) /
         name;
}

fs::path run_quick(const std::string& name, std::map<std::string, std::string> given) {
  const kiln::course::Experiment& e = kiln::course::find_experiment(name);
  const kiln::course::Args args(name, e.knobs, std::move(given), true);
  kiln::course::Output out(work_dir(name), false);
  e.run(args, out);
  return out.dir();
}

std::vector<std::vector<std::string>> read_csv(const fs::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream s(line);
    std::string c;
    while (std::getline(s, c, ',')) cells.push_back(c);
    rows.push_back(cells);
  }
  return rows;
}

void expect_increasing_entropy(const fs::path& dir) {
  const auto rows = read_csv(dir / "entropy.csv");
  ASSERT_EQ(rows.size(), 5u);  // T = 0.1, 0.5, 1.0, 1.5
  for (size_t i = 2; i < rows.size(); ++i)
    EXPECT_GT(std::stod(rows[i][1]), std::stod(rows[i - 1][1])) << "T " << rows[i][0];
  EXPECT_GE(read_csv(dir / "samples.csv").size(), 5u);
}

TEST(CourseLm, EntropyGrowsWithTemperature) {
  expect_increasing_entropy(run_quick("temperature-entropy", {{"model", kFixture}}));
}

TEST(CourseLm, SmallGptIsTrainedOnceThenReused) {
  const std::string cache = work_dir("cache").string();
  testing::internal::CaptureStdout();
  run_quick("temperature-entropy", {{"cache", cache}});
  const std::string first = testing::internal::GetCapturedStdout();
  EXPECT_NE(first.find("training a small GPT"), std::string::npos) << first;
  testing::internal::CaptureStdout();
  const fs::path dir = run_quick("temperature-entropy", {{"cache", cache}});
  const std::string second = testing::internal::GetCapturedStdout();
  EXPECT_NE(second.find("reusing the small GPT"), std::string::npos) << second;
  expect_increasing_entropy(dir);
}

TEST(CourseLm, EveryLmExperimentWritesItsFiles) {
  const std::map<std::string, std::vector<std::string>> files = {
      {"decoding", {"decoding.csv"}},
      {"ngram-vs-gpt", {"summary.csv", "sentences.csv"}},
      {"embeddings", {"similarity.csv", "neighbours.csv"}},
      {"zero-shot-vs-supervised", {"summary.csv", "answers.csv"}},
      {"prompt-benchmark", {"summary.csv", "answers.csv"}},
  };
  for (const auto& [name, names] : files) {
    const fs::path dir = run_quick(name, {{"model", kFixture}});
    for (const std::string& f : names) {
      EXPECT_TRUE(fs::exists(dir / f)) << name << ": " << f;
      EXPECT_GE(read_csv(dir / f).size(), 2u) << name << ": " << f;
    }
  }
  const auto decoding = read_csv(work_dir("decoding") / "decoding.csv");
  EXPECT_EQ(decoding.size(), 8u);  // greedy, temperature, 3 top-k, 2 top-p
  const auto summary = read_csv(work_dir("ngram-vs-gpt") / "summary.csv");
  ASSERT_EQ(summary.size(), 3u);
  for (size_t i = 1; i < 3; ++i) EXPECT_GT(std::stod(summary[i][3]), 1.0);
}

TEST(CourseLm, AttentionHeadsExportsEveryHead) {
  const fs::path dir = run_quick("attention-heads", {{"model", kFixture},
                                                     {"sentences", "Le médecin a vu sa patiente."}});
  EXPECT_TRUE(fs::exists(dir / "sentence1" / "tokens.csv"));
  EXPECT_TRUE(fs::exists(dir / "sentence1" / "layer1_head3.csv"));
  EXPECT_THROW(run_quick("attention-heads", {{"model", kFixture}, {"layers", "7"}}), kiln::Error);
}

TEST(CourseLm, BadModelIsOneLine) {
  try {
    run_quick("decoding", {{"model", "/no/such/model"}});
    FAIL() << "no error";
  } catch (const kiln::Error& e) {
    EXPECT_EQ(std::string(e.what()), "[course decoding] --model /no/such/model is not a directory");
  }
}

}  // namespace
