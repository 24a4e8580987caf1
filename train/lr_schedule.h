#pragma once
// Learning-rate schedules by step. Every kind starts with nanoGPT's linear warmup
// (lr * (step + 1) / warmup_steps for step < warmup_steps), then:
//   cosine:   cosine from lr at warmup_steps down to min_lr at max_steps, min_lr after;
//   constant: lr for ever (min_lr and max_steps only bound the warmup);
//   wsd:      warmup-stable-decay: lr until the last decay_fraction of max_steps, then linear
//             down to min_lr at max_steps, min_lr after.
#include <cstdint>
#include <string_view>

namespace kiln::train {

enum class ScheduleKind { cosine, constant, wsd };

std::string_view schedule_kind_name(ScheduleKind kind);

struct LrSchedule {
  ScheduleKind kind = ScheduleKind::cosine;
  double lr = 6e-4;
  double min_lr = 6e-5;
  int64_t warmup_steps = 0;
  int64_t max_steps = 1;
  double decay_fraction = 0.2;  // wsd only

  // The learning rate for `step` (0-based, the step about to run); validates first.
  double at(int64_t step) const;
  // Throws kiln::Error naming the field when the settings make no schedule: lr > 0,
  // 0 <= min_lr <= lr, 0 <= warmup_steps <= max_steps, 0 <= decay_fraction <= 1, and for wsd
  // the warmup ends before the decay starts.
  void validate() const;
  // The step at which wsd's decay starts: max_steps - round(decay_fraction * max_steps).
  int64_t decay_start() const;

  // "cosine", "constant" or "wsd"; anything else throws listing those.
  static ScheduleKind parse_kind(std::string_view name);
};

}  // namespace kiln::train
