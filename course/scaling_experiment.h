#pragma once
// The course's Experiment 7 (self-attention vs RNN cost): the time of one forward pass against
// the sequence length T for a simple RNN, an LSTM, naive self-attention (which materialises the
// T x T scores) and the fused attention kernel (which never does), at a fixed width.
//
// Each method is a "block" of the same shape: x [B, T, C] -> [B, T, C], with its input
// projection included (the RNN's and LSTM's x W_ihᵀ, the attention's one QKV projection; a
// single head of width C, no mask), so the curves differ only in how positions are mixed:
// a sequential loop of T steps (O(T C²) work, T dependent steps) or all pairs at once
// (O(T² C) work, fully parallel).
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/device.h"

namespace kiln::course {

struct ScalingConfig {
  Device device;
  int64_t width = 256;
  int64_t batch = 1;
  int64_t min_t = 32;
  int64_t max_t = 4096;
  // Timed calls per point after one warm-up call; 0: as many as fit in about 0.2 s, between 3
  // and 100 (the course's 100 passes where they are cheap, a few where they are not).
  int repeats = 0;
  // A method stops at the first T where one call would take longer than this (measured, or
  // predicted from the previous T by the method's O(T) or O(T²) growth).
  double budget_seconds = 2.0;
  uint64_t seed = 0;
};

// One cell of the table. `median_ms` is empty when the method did not run at this T; `note`
// then says why ("over budget", an error message).
struct ScalingPoint {
  std::string method;
  std::string implementation;  // "kiln" or "cudnn"
  int64_t t = 0;
  std::optional<double> median_ms;
  std::optional<double> min_ms;
  int repeats = 0;  // timed calls behind the median
  std::string note;
};

// T = min_t, 2 min_t, 4 min_t, ... up to max_t (max_t itself always included).
std::vector<int64_t> scaling_lengths(int64_t min_t, int64_t max_t);

// The method names in table order: rnn, lstm, attention_naive, attention_fused.
std::vector<std::string> scaling_methods();

// Runs the experiment. `on_row` is called after each T with that T's points (progress output).
std::vector<ScalingPoint> run_scaling_experiment(
    const ScalingConfig& config,
    const std::function<void(int64_t t, const std::vector<ScalingPoint>&)>& on_row = {});

// The CSV the plot script reads: one row per (method, T), with the configuration repeated.
std::string scaling_csv(const ScalingConfig& config, const std::vector<ScalingPoint>& points);

}  // namespace kiln::course
