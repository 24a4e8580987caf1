// kiln bench scaling: the course's Experiment 7 (course/scaling_experiment.h) as a table, a CSV and
// a log-log plot drawn by course/plot_scaling.py.
#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "cli/commands.h"
#include "cli/validators.h"
#include "core/device.h"
#include "core/error.h"
#include "core/file_io.h"
#include "course/scaling_experiment.h"

namespace kiln::cli {
namespace {

using course::run_scaling_experiment;
using course::scaling_csv;
using course::scaling_methods;
using course::ScalingConfig;
using course::ScalingPoint;

namespace fs = std::filesystem;
constexpr std::string_view kOp = "bench scaling";

// Single quotes for /bin/sh: everything literal, a ' closes, escapes and reopens.
std::string shell_quote(const std::string& arg) {
  std::string out = "'";
  for (const char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The interpreter with matplotlib: $KILN_PYTHON, else Debian's (python3-matplotlib installs
// into /usr/bin/python3, which a pyenv or venv python3 earlier on PATH would not see).
std::string python_interpreter() {
  if (const char* chosen = std::getenv("KILN_PYTHON"); chosen != nullptr && *chosen != '\0')
    return chosen;
  return fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

std::string last_line(const std::string& text) {
  std::string trimmed = text;
  while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == ' ')) trimmed.pop_back();
  const size_t newline = trimmed.rfind('\n');
  return newline == std::string::npos ? trimmed : trimmed.substr(newline + 1);
}

void plot(const fs::path& csv, const fs::path& png) {
  const fs::path script = fs::path(KILN_SOURCE_DIR) / "course" / "plot_scaling.py";
  KILN_CHECK(fs::exists(script), kOp, "cannot plot: {} is missing", script.string());
  const fs::path errors =
      fs::temp_directory_path() / fmt::format("kiln_plot_scaling_{}.err", ::getpid());
  const std::string command =
      fmt::format("{} {} {} --png {} >/dev/null 2>{}", shell_quote(python_interpreter()),
                  shell_quote(script.string()), shell_quote(csv.string()),
                  shell_quote(png.string()), shell_quote(errors.string()));
  const int status = std::system(command.c_str());
  std::string message;
  if (status != 0 && fs::exists(errors)) message = last_line(read_text_file(errors, kOp));
  fs::remove(errors);
  KILN_CHECK(status == 0, kOp, "plotting with {} failed: {}", script.filename().string(),
             message.empty() ? "no message (is python3-matplotlib installed?)" : message);
}

class Table {
 public:
  explicit Table(std::vector<std::string> methods) : methods_(std::move(methods)) {
    std::string header = fmt::format("{:>6}", "T");
    for (const std::string& m : methods_) header += fmt::format("  {:>{}}", m, width(m));
    fmt::print("{}\n", header);
  }

  void row(int64_t t, const std::vector<ScalingPoint>& points) {
    std::string line = fmt::format("{:>6}", t);
    for (const std::string& m : methods_) {
      const auto p = std::find_if(points.begin(), points.end(),
                                  [&](const ScalingPoint& q) { return q.method == m; });
      const bool ran = p != points.end() && p->median_ms;
      line += fmt::format("  {:>{}}", ran ? fmt::format("{:.3f}", *p->median_ms) : "-", width(m));
      if (p != points.end() && !ran && !p->note.empty()) notes_.emplace(m, p->note);
    }
    fmt::print("{}\n", line);
    std::fflush(stdout);
  }

  void print_notes() const {
    for (const auto& [method, note] : notes_) fmt::print("{}: {}\n", method, note);
  }

 private:
  static size_t width(const std::string& method) { return std::max<size_t>(method.size(), 10); }
  std::vector<std::string> methods_;
  std::map<std::string, std::string> notes_;  // the first reason each method stopped
};

}  // namespace

void add_bench_scaling_command(CLI::App& bench) {
  struct Options {
    std::string device = "cpu";
    int64_t width = 256;
    int64_t batch = 1;
    int64_t min_t = 32;
    int64_t max_t = 4096;
    int repeats = 0;
    double budget = 2.0;
    std::string csv;
    std::string plot;
  };
  auto options = std::make_shared<Options>();
  CLI::App* cmd = bench.add_subcommand(
      "scaling",
      "Experiment 7: forward time vs sequence length for RNN, LSTM, naive and fused attention");
  cmd->add_option("--device", options->device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--width", options->width, "Model width C (hidden size, head dim)")
      ->check(decimal_integer(1, 16384))
      ->capture_default_str();
  cmd->add_option("--batch", options->batch, "Sequences per forward pass")
      ->check(decimal_integer(1, 4096))
      ->capture_default_str();
  cmd->add_option("--min-t", options->min_t, "Shortest sequence")
      ->check(decimal_integer(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--max-t", options->max_t, "Longest sequence (T doubles from --min-t)")
      ->check(decimal_integer(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--repeats", options->repeats,
                  "Timed passes per point, after a warm-up (default: as many as fit in 0.2 s, "
                  "3 to 100)")
      ->check(decimal_integer(1, 100000));
  cmd->add_option("--budget", options->budget,
                  "Seconds per call beyond which a method stops growing T")
      ->check(positive_number())
      ->capture_default_str();
  cmd->add_option("--csv", options->csv, "Write the measurements here");
  cmd->add_option("--plot", options->plot, "Draw a log-log PNG here (course/plot_scaling.py)");
  cmd->callback([options] {
    ScalingConfig config;
    config.device = parse_device(options->device);
    check_device_usable(config.device, kOp);
    KILN_CHECK(options->min_t <= options->max_t, kOp, "--min-t {} is larger than --max-t {}",
               options->min_t, options->max_t);
    config.width = options->width;
    config.batch = options->batch;
    config.min_t = options->min_t;
    config.max_t = options->max_t;
    config.repeats = options->repeats;
    config.budget_seconds = options->budget;

    fmt::print("Experiment 7 on {}: width {}, batch {}; median time of {} forward passes, in ms\n",
               config.device.str(), config.width, config.batch,
               config.repeats > 0 ? std::to_string(config.repeats) : "3-100");
    Table table(scaling_methods());
    const std::vector<ScalingPoint> points = run_scaling_experiment(
        config, [&](int64_t t, const std::vector<ScalingPoint>& row) { table.row(t, row); });
    table.print_notes();
    for (const ScalingPoint& p : points)
      if (p.method == "lstm" && p.t == config.min_t)
        fmt::print("lstm: {}\n", p.implementation == "cudnn" ? "cuDNN's (cudnnRNNForward)"
                                                             : "kiln's cell loop (models/rnn.h)");

    const std::string csv = scaling_csv(config, points);
    if (!options->csv.empty()) {
      write_file_atomically(options->csv, csv, kOp);
      fmt::print("csv: {}\n", options->csv);
    }
    if (!options->plot.empty()) {
      fs::path data = options->csv;
      if (data.empty()) {
        data = fs::temp_directory_path() / fmt::format("kiln_scaling_{}.csv", ::getpid());
        write_file_atomically(data, csv, kOp);
      }
      try {
        plot(data, options->plot);
      } catch (...) {
        if (options->csv.empty()) fs::remove(data);
        throw;
      }
      if (options->csv.empty()) fs::remove(data);
      fmt::print("plot: {}\n", options->plot);
    }
  });
}

}  // namespace kiln::cli
