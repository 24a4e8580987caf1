// Experiment 7: self-attention vs RNN cost, the measurement of course/scaling_experiment.h (also
// `kiln bench scaling`) under the course's name, with its table, CSV and log-log plot.
#include <fmt/core.h>

#include "core/device.h"
#include "course/experiments.h"
#include "course/scaling_experiment.h"

namespace kiln::course {
namespace {

void run(const Args& args, Output& out) {
  ScalingConfig config;
  config.device = parse_device(args.text("device"));
  config.width = args.integer("width", 1, 16384);
  config.batch = args.integer("batch", 1, 4096);
  config.min_t = args.integer("min-t", 1, 1 << 20);
  config.max_t = args.integer("max-t", config.min_t, 1 << 20);
  config.repeats = static_cast<int>(args.integer("repeats", 0, 100000));
  config.budget_seconds = args.number("budget", 1e-3, 1e6);
  fmt::print("Experiment 7 on {}: width {}, batch {}; median forward time in ms\n",
             config.device.str(), config.width, config.batch);
  const std::vector<ScalingPoint> points = run_scaling_experiment(
      config, [](int64_t t, const std::vector<ScalingPoint>&) { fmt::print("  T={} done\n", t); });
  const std::vector<std::string> methods = scaling_methods();
  Table table{{"T"}, {}};
  table.header.insert(table.header.end(), methods.begin(), methods.end());
  for (const int64_t t : scaling_lengths(config.min_t, config.max_t)) {
    std::vector<std::string> row{std::to_string(t)};
    for (const std::string& m : methods) {
      std::string value = "-";
      for (const ScalingPoint& p : points)
        if (p.method == m && p.t == t && p.median_ms) value = fmt::format("{:.3f}", *p.median_ms);
      row.push_back(value);
    }
    table.add(row);
  }
  table.print();
  out.write("scaling.csv", scaling_csv(config, points));
  out.plot("attention_cost", "attention_cost.png");
}

}  // namespace

Experiment attention_cost_experiment() {
  return {"attention-cost",
          "Expérience 7: coût de la self-attention vs RNN",
          "Forward time vs sequence length: RNN, LSTM, naive and fused attention (log-log)",
          {{"device", "cpu, cuda or cuda:N", "cpu", ""},
           {"width", "Model width d", "256", "32"},
           {"batch", "Sequences per forward pass", "1", ""},
           {"min-t", "Shortest sequence", "32", "8"},
           {"max-t", "Longest sequence (T doubles)", "4096", "64"},
           {"repeats", "Timed passes per point (0: as many as fit in 0.2 s)", "0", "2"},
           {"budget", "Seconds per call beyond which a method stops growing T", "2", "0.5"}},
          run};
}

}  // namespace kiln::course
