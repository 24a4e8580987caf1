#pragma once
// What a run reports as it goes: a progress line (redrawn in place on a terminal, one plain
// line per log_interval otherwise) and out_dir/metrics.jsonl, one JSON object per step and per
// evaluation.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

namespace kiln::train {

class RunLog {
 public:
  // Opens metrics.jsonl for appending; on resume, drops the records after `resumed_step` (they
  // belong to the steps that will be run again).
  RunLog(const std::filesystem::path& out_dir, int64_t max_steps, int64_t log_interval,
         int64_t resumed_step);

  void step(const nlohmann::json& record, double seconds_per_step);
  void eval(const nlohmann::json& record);
  // A line that must not be overwritten by the progress bar.
  void message(const std::string& text);
  // A warning through core/log (stderr), after clearing the progress bar.
  void warning(const std::string& text);

 private:
  void write(const nlohmann::json& record);

  std::ofstream metrics_;
  int64_t max_steps_;
  int64_t log_interval_;
  bool terminal_;
  bool bar_shown_ = false;
};

}  // namespace kiln::train
