// Every `kiln course` experiment in its reduced form (--quick), with the numbers the course
// states checked in the CSV files it writes: the slides' attention weights, n-gram
// distributions that sum to 1, the simple RNN's gradient vanishing with T.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "course/course.h"
#include "course/ngram_model.h"
#include "course/output.h"

namespace {
namespace fs = std::filesystem;
using kiln::course::Args;
using kiln::course::Output;

fs::path work_dir(const std::string& name) {
  return fs::path(::testing::TempDir()) /
         ("kiln_course_tests_" + std::to_string(::getpid())) / name;
}

// Runs the experiment with --quick and the given options; returns its output folder.
fs::path run_quick(const std::string& name, std::map<std::string, std::string> given = {}) {
  const kiln::course::Experiment& e = kiln::course::find_experiment(name);
  const Args args(name, e.knobs, std::move(given), true);
  Output out(work_dir(name), false);
  e.run(args, out);
  return out.dir();
}

// A CSV as rows of cells (no quoted cells in the files checked here).
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

TEST(Course, ListsEveryExperimentOnce) {
  std::set<std::string> names;
  for (const auto& e : kiln::course::experiments()) {
    EXPECT_TRUE(names.insert(e.name).second) << e.name;
    EXPECT_FALSE(e.summary.empty());
  }
  EXPECT_THROW(kiln::course::find_experiment("frobnicate"), kiln::Error);
}

TEST(Course, AttentionByHandMatchesTheSlide) {
  const fs::path dir = run_quick("attention-by-hand");
  const auto a = read_csv(dir / "weights.csv");
  const double slide[3][3] = {{0.401, 0.401, 0.198}, {0.198, 0.401, 0.401}, {0.248, 0.503, 0.248}};
  ASSERT_EQ(a.size(), 4u);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) EXPECT_NEAR(std::stod(a[i + 1][j + 1]), slide[i][j], 1e-3);
  const auto s = read_csv(dir / "scores.csv");
  EXPECT_NEAR(std::stod(s[3][2]), 1.414, 1e-3);
  EXPECT_TRUE(fs::exists(dir / "output.csv"));
}

TEST(Course, NgramProbabilitiesSumToOne) {
  kiln::course::NgramModel model(3, 0.5);
  model.train({"le chat dort .", "le chien dort dans le jardin .", "the cat sleeps ."});
  for (const std::vector<std::string> context :
       {std::vector<std::string>{"le", "chat"}, {}, {"jamais", "vu"}, {"the"}}) {
    double total = 0;
    for (const std::string& w : model.vocabulary()) total += model.probability(context, w);
    EXPECT_NEAR(total, 1.0, 1e-12);
  }
  EXPECT_GT(model.probability({"le", "chat"}, "dort"), model.probability({"le", "chat"}, "jardin"));

  const fs::path dir = run_quick("ngram", {{"k", "0.1"}});
  double total = 0;
  const auto rows = read_csv(dir / "next_word.csv");
  for (size_t i = 1; i < rows.size(); ++i) total += std::stod(rows[i][1]);
  EXPECT_NEAR(total, 1.0, 1e-4);  // the CSV rounds each probability to 6 digits
}

TEST(Course, SimpleRnnGradientVanishesWithLength) {
  const fs::path dir = run_quick("vanishing-gradient", {{"models", "rnn,lstm"}});
  const auto rows = read_csv(dir / "vanishing_gradient.csv");
  std::vector<double> rnn;
  for (size_t i = 1; i < rows.size(); ++i)
    if (rows[i][0] == "rnn") rnn.push_back(std::stod(rows[i][2]));
  ASSERT_EQ(rnn.size(), 3u);  // T = 5, 10, 20
  for (size_t i = 1; i < rnn.size(); ++i) EXPECT_LT(rnn[i], rnn[i - 1]);
  EXPECT_LT(rnn.back(), rnn.front() / 10);
}

TEST(Course, MlpLearnsTwoMoons) {
  const fs::path dir = run_quick("mlp");
  const auto rows = read_csv(dir / "history.csv");
  EXPECT_GT(std::stod(rows.back()[4]), 0.9);
  EXPECT_TRUE(fs::exists(dir / "grid.csv"));
  EXPECT_THROW(run_quick("mlp", {{"epochs", "1"}, {"min-accuracy", "1"}}), kiln::Error);
}

TEST(Course, EveryOtherExperimentWritesItsFiles) {
  const std::map<std::string, std::vector<std::string>> files = {
      {"learning-curves", {"learning_curves.csv"}},
      {"regularisation", {"summary.csv", "curves.csv", "grid_none.csv", "grid_l2.csv",
                          "grid_dropout.csv", "points.csv"}},
      {"lstm", {"summary.csv", "loss_curves.csv"}},
      {"bpe", {"merges.csv", "pieces.csv"}},
      {"token-lengths", {"sentences.csv", "summary.csv"}},
      {"attention-cost", {"scaling.csv"}},
  };
  for (const auto& [name, names] : files) {
    const fs::path dir = run_quick(name);
    for (const std::string& f : names) {
      EXPECT_TRUE(fs::exists(dir / f)) << name << ": " << f;
      EXPECT_GE(read_csv(dir / f).size(), 2u) << name << ": " << f;
    }
  }
}

TEST(Course, BadOptionsAreOneLineErrors) {
  const auto& e = kiln::course::find_experiment("mlp");
  const auto message = [&](std::map<std::string, std::string> given) -> std::string {
    try {
      const Args args("mlp", e.knobs, std::move(given), true);
      args.integer("epochs", 1, 100000);
      args.integers("hidden", 1, 4096);
      return "";
    } catch (const kiln::Error& error) {
      return error.what();
    }
  };
  EXPECT_EQ(message({{"epochs", "ten"}}),
            "[course mlp] --epochs ten: expected an integer in [1, 100000]");
  EXPECT_EQ(message({{"epochs", "0"}}), "[course mlp] --epochs 0: expected an integer in [1, 100000]");
  EXPECT_NE(message({{"hidden", "32,,8"}}).find("--hidden 32,,8"), std::string::npos);
  EXPECT_NE(message({{"colour", "red"}}).find("--colour is not an option"), std::string::npos);
  EXPECT_THROW(run_quick("vanishing-gradient", {{"models", "rnn,transformer"}}), kiln::Error);
  EXPECT_THROW(run_quick("attention-by-hand", {{"q", "1 0; 1"}}), kiln::Error);
}

}  // namespace
