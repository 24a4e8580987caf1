#include "train/lr_schedule.h"

#include <cmath>
#include <numbers>

#include "core/error.h"

namespace kiln::train {

std::string_view schedule_kind_name(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::cosine:
      return "cosine";
    case ScheduleKind::constant:
      return "constant";
    case ScheduleKind::wsd:
      return "wsd";
  }
  fail("lr_schedule", "corrupt schedule kind {}", static_cast<int>(kind));
}

ScheduleKind LrSchedule::parse_kind(std::string_view name) {
  for (const ScheduleKind kind : {ScheduleKind::cosine, ScheduleKind::constant, ScheduleKind::wsd})
    if (name == schedule_kind_name(kind)) return kind;
  fail("lr_schedule", "unknown schedule '{}', expected one of: cosine, constant, wsd", name);
}

int64_t LrSchedule::decay_start() const {
  return max_steps - std::llround(decay_fraction * static_cast<double>(max_steps));
}

void LrSchedule::validate() const {
  KILN_CHECK(std::isfinite(lr) && lr > 0, "lr_schedule", "lr {} must be > 0", lr);
  KILN_CHECK(min_lr >= 0 && min_lr <= lr, "lr_schedule", "min_lr {} must be in [0, lr = {}]",
             min_lr, lr);
  KILN_CHECK(warmup_steps >= 0, "lr_schedule", "warmup_steps {} must be >= 0", warmup_steps);
  KILN_CHECK(max_steps >= warmup_steps, "lr_schedule", "max_steps {} must be >= warmup_steps {}",
             max_steps, warmup_steps);
  KILN_CHECK(decay_fraction >= 0 && decay_fraction <= 1, "lr_schedule",
             "decay_fraction {} must be in [0, 1]", decay_fraction);
  KILN_CHECK(kind != ScheduleKind::wsd || warmup_steps <= decay_start(), "lr_schedule",
             "wsd decay starts at step {} (the last {} of max_steps {}), before warmup_steps {} "
             "end; lower decay_fraction or warmup_steps",
             decay_start(), decay_fraction, max_steps, warmup_steps);
}

double LrSchedule::at(int64_t step) const {
  validate();
  KILN_CHECK(step >= 0, "lr_schedule", "step {} must be >= 0", step);
  if (step < warmup_steps)
    return lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  switch (kind) {
    case ScheduleKind::constant:
      return lr;
    case ScheduleKind::cosine: {
      if (step >= max_steps) return min_lr;
      const double ratio =
          static_cast<double>(step - warmup_steps) / static_cast<double>(max_steps - warmup_steps);
      const double coeff = 0.5 * (1.0 + std::cos(std::numbers::pi * ratio));
      return min_lr + coeff * (lr - min_lr);
    }
    case ScheduleKind::wsd: {
      if (step >= max_steps) return min_lr;
      const int64_t start = decay_start();
      if (step < start) return lr;
      const double ratio =
          static_cast<double>(step - start) / static_cast<double>(max_steps - start);
      return lr + ratio * (min_lr - lr);
    }
  }
  fail("lr_schedule", "corrupt schedule kind {}", static_cast<int>(kind));
}

}  // namespace kiln::train
