#include "train/lr_schedule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/error.h"

namespace kiln::train {
namespace {

TEST(LrSchedule, CosineWarmsUpThenDecaysToMinLr) {
  const LrSchedule s{ScheduleKind::cosine, 1.0, 0.1, 10, 110, 0.2};
  EXPECT_DOUBLE_EQ(s.at(0), 0.1);  // nanoGPT: lr * (step + 1) / warmup
  EXPECT_DOUBLE_EQ(s.at(4), 0.5);
  EXPECT_DOUBLE_EQ(s.at(9), 1.0);
  EXPECT_DOUBLE_EQ(s.at(10), 1.0);
  EXPECT_DOUBLE_EQ(s.at(60), 0.55);  // half way: min_lr + (lr - min_lr) / 2
  EXPECT_DOUBLE_EQ(s.at(35), 0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI / 4)));
  EXPECT_DOUBLE_EQ(s.at(110), 0.1);
  EXPECT_DOUBLE_EQ(s.at(1000000), 0.1);
  for (int64_t step = 10; step < 120; ++step) EXPECT_LE(s.at(step + 1), s.at(step)) << step;
}

TEST(LrSchedule, CosineWithoutWarmupStartsAtLr) {
  const LrSchedule s{ScheduleKind::cosine, 3e-4, 0.0, 0, 100, 0.2};
  EXPECT_DOUBLE_EQ(s.at(0), 3e-4);
  EXPECT_NEAR(s.at(99), 3e-4 * 0.5 * (1 + std::cos(M_PI * 0.99)), 1e-18);
  EXPECT_DOUBLE_EQ(s.at(100), 0.0);
}

TEST(LrSchedule, ConstantWarmsUpThenHolds) {
  const LrSchedule s{ScheduleKind::constant, 2.0, 0.5, 4, 10, 0.2};
  EXPECT_DOUBLE_EQ(s.at(0), 0.5);
  EXPECT_DOUBLE_EQ(s.at(3), 2.0);
  EXPECT_DOUBLE_EQ(s.at(4), 2.0);
  EXPECT_DOUBLE_EQ(s.at(10), 2.0);
  EXPECT_DOUBLE_EQ(s.at(1000), 2.0);
}

TEST(LrSchedule, WsdHoldsThenDecaysLinearlyOverTheLastFraction) {
  const LrSchedule s{ScheduleKind::wsd, 1.0, 0.0, 10, 100, 0.2};
  EXPECT_EQ(s.decay_start(), 80);
  EXPECT_DOUBLE_EQ(s.at(0), 0.1);
  EXPECT_DOUBLE_EQ(s.at(10), 1.0);
  EXPECT_DOUBLE_EQ(s.at(50), 1.0);
  EXPECT_DOUBLE_EQ(s.at(80), 1.0);
  EXPECT_DOUBLE_EQ(s.at(90), 0.5);
  EXPECT_DOUBLE_EQ(s.at(95), 0.25);
  EXPECT_DOUBLE_EQ(s.at(100), 0.0);
  EXPECT_DOUBLE_EQ(s.at(150), 0.0);

  const LrSchedule floor{ScheduleKind::wsd, 1.0, 0.2, 0, 10, 0.5};
  EXPECT_EQ(floor.decay_start(), 5);
  EXPECT_DOUBLE_EQ(floor.at(4), 1.0);
  EXPECT_DOUBLE_EQ(floor.at(7), 1.0 - 0.8 * 2 / 5);
  EXPECT_DOUBLE_EQ(floor.at(10), 0.2);
}

TEST(LrSchedule, ParsesKindNames) {
  EXPECT_EQ(LrSchedule::parse_kind("cosine"), ScheduleKind::cosine);
  EXPECT_EQ(LrSchedule::parse_kind("constant"), ScheduleKind::constant);
  EXPECT_EQ(LrSchedule::parse_kind("wsd"), ScheduleKind::wsd);
  for (const ScheduleKind kind : {ScheduleKind::cosine, ScheduleKind::constant, ScheduleKind::wsd})
    EXPECT_EQ(LrSchedule::parse_kind(schedule_kind_name(kind)), kind);
  try {
    LrSchedule::parse_kind("linear");
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("[lr_schedule] unknown schedule 'linear'"), std::string::npos);
    EXPECT_NE(message.find("cosine, constant, wsd"), std::string::npos) << message;
  }
}

std::string error_of(const LrSchedule& s, int64_t step = 0) {
  try {
    s.at(step);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(LrSchedule, RejectsSettingsThatMakeNoSchedule) {
  using K = ScheduleKind;
  EXPECT_NE(error_of({K::cosine, 1.0, 0.1, 20, 10, 0.2}).find("max_steps 10 must be >= warmup"),
            std::string::npos);
  EXPECT_NE(error_of({K::cosine, 1.0, 2.0, 0, 10, 0.2}).find("min_lr 2"), std::string::npos);
  EXPECT_NE(error_of({K::cosine, 1.0, -0.1, 0, 10, 0.2}).find("min_lr"), std::string::npos);
  EXPECT_NE(error_of({K::constant, 0.0, 0.0, 0, 10, 0.2}).find("lr 0 must be > 0"),
            std::string::npos);
  EXPECT_NE(error_of({K::cosine, 1.0, 0.1, -1, 10, 0.2}).find("warmup_steps -1"),
            std::string::npos);
  EXPECT_NE(error_of({K::wsd, 1.0, 0.1, 0, 10, 1.5}).find("decay_fraction 1.5"), std::string::npos);
  EXPECT_NE(error_of({K::wsd, 1.0, 0.1, 90, 100, 0.2}).find("wsd decay starts at step 80"),
            std::string::npos);
  EXPECT_NE(error_of({K::cosine, 1.0, 0.1, 0, 10, 0.2}, -1).find("step -1"), std::string::npos);
  EXPECT_EQ(error_of({K::wsd, 1.0, 0.1, 80, 100, 0.2}), "(no error)");
}

}  // namespace
}  // namespace kiln::train
