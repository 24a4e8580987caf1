#include "train/run_log.h"

#include <fmt/format.h>
#include <unistd.h>

#include <sstream>
#include <string>

#include "core/error.h"
#include "core/file_io.h"
#include "core/log.h"

namespace kiln::train {
namespace fs = std::filesystem;

namespace {

std::string duration(double seconds) {
  const auto s = static_cast<int64_t>(seconds);
  return s >= 3600 ? fmt::format("{}h{:02d}m", s / 3600, s / 60 % 60)
                   : fmt::format("{}m{:02d}s", s / 60, s % 60);
}

// Keeps the records of steps <= resumed_step (evaluations included) of an earlier attempt.
void truncate_metrics(const fs::path& path, int64_t resumed_step) {
  if (!fs::exists(path)) return;
  std::istringstream lines(read_text_file(path, "train"));
  std::string kept, line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    const auto record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_discarded() || !record.contains("step")) continue;  // a torn last line
    if (record["step"].get<int64_t>() <= resumed_step) kept += line + "\n";
  }
  write_file_atomically(path, kept, "train");
}

}  // namespace

RunLog::RunLog(const fs::path& out_dir, int64_t max_steps, int64_t log_interval,
               int64_t resumed_step)
    : max_steps_(max_steps), log_interval_(log_interval), terminal_(::isatty(STDOUT_FILENO) != 0) {
  const fs::path path = out_dir / "metrics.jsonl";
  if (resumed_step > 0) truncate_metrics(path, resumed_step);
  metrics_.open(path, resumed_step > 0 ? std::ios::app : std::ios::trunc);
  KILN_CHECK(metrics_.good(), "train", "cannot write {}", path.string());
}

void RunLog::write(const nlohmann::json& record) {
  metrics_ << record.dump() << '\n';
  metrics_.flush();
}

void RunLog::step(const nlohmann::json& record, double seconds_per_step) {
  write(record);
  const int64_t step = record["step"].get<int64_t>();
  const std::string mfu = record.contains("mfu")
                              ? fmt::format(" | mfu {:.1f}%", 100.0 * record["mfu"].get<double>())
                              : "";
  const std::string line =
      fmt::format("step {:>{}}/{} | loss {:.4f} | lr {:.2e} | {:.0f} tok/s{} | eta {}", step,
                  std::to_string(max_steps_).size(), max_steps_, record["loss"].get<double>(),
                  record["lr"].get<double>(), record["tokens_per_s"].get<double>(), mfu,
                  duration(seconds_per_step * static_cast<double>(max_steps_ - step)));
  if (terminal_) {
    const int width = 24;
    const auto filled = static_cast<int>(width * step / std::max<int64_t>(max_steps_, 1));
    fmt::print("\r[{}{}] {}\x1b[K", std::string(static_cast<size_t>(filled), '#'),
               std::string(static_cast<size_t>(width - filled), '.'), line);
    std::fflush(stdout);
    bar_shown_ = true;
  } else if (step % log_interval_ == 0 || step == max_steps_) {
    fmt::print("{}\n", line);
    std::fflush(stdout);
  }
}

void RunLog::eval(const nlohmann::json& record) {
  write(record);
  std::string line = fmt::format("eval step {}", record["step"].get<int64_t>());
  if (record.contains("val_loss"))
    line += fmt::format(" | val loss {:.4f}", record["val_loss"].get<double>());
  if (record.contains("accuracy"))
    line += fmt::format(" | held-out accuracy {:.1f}%", 100.0 * record["accuracy"].get<double>());
  message(line);
}

void RunLog::message(const std::string& text) {
  if (bar_shown_) fmt::print("\r\x1b[K");
  fmt::print("{}\n", text);
  std::fflush(stdout);
  bar_shown_ = false;
}

void RunLog::warning(const std::string& text) {
  if (bar_shown_) {
    fmt::print("\r\x1b[K");
    std::fflush(stdout);
    bar_shown_ = false;
  }
  logging::warn("{}", text);
}

}  // namespace kiln::train
