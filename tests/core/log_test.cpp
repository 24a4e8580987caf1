// core/log: KILN_LOG_LEVEL's parsing, level filtering, and the rank rule (only rank 0 logs
// below error).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "core/error.h"
#include "core/log.h"

namespace kiln::logging {
namespace {

TEST(Log, ParsesEveryLevelName) {
  EXPECT_EQ(parse_level("trace"), Level::trace);
  EXPECT_EQ(parse_level("debug"), Level::debug);
  EXPECT_EQ(parse_level("info"), Level::info);
  EXPECT_EQ(parse_level("warn"), Level::warn);
  EXPECT_EQ(parse_level("error"), Level::error);
  EXPECT_EQ(parse_level("off"), Level::off);
}

TEST(Log, UnsetVariableMeansInfo) {
  EXPECT_EQ(level_from_env(nullptr), Level::info);
  EXPECT_EQ(level_from_env("debug"), Level::debug);
}

TEST(Log, BadLevelIsAnErrorNamingTheVariableAndTheChoices) {
  for (const char* bad : {"", "verbose", "WARN", "warning", "info "}) {
    try {
      level_from_env(bad);
      FAIL() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("KILN_LOG_LEVEL"), std::string::npos) << message;
      EXPECT_NE(message.find("trace|debug|info|warn|error|off"), std::string::npos) << message;
    }
  }
}

TEST(Log, ConfigureFromEnvironmentReadsTheVariable) {
  ::setenv("KILN_LOG_LEVEL", "error", 1);
  configure_from_environment();
  EXPECT_EQ(level(), Level::error);
  ::setenv("KILN_LOG_LEVEL", "nonsense", 1);
  EXPECT_THROW(configure_from_environment(), Error);
  EXPECT_EQ(level(), Level::error) << "a bad value leaves the level as it was";
  ::unsetenv("KILN_LOG_LEVEL");
  configure_from_environment();
  EXPECT_EQ(level(), Level::info);
}

TEST(Log, LevelFiltersMessages) {
  set_level(Level::warn);
  EXPECT_FALSE(enabled(Level::debug));
  EXPECT_FALSE(enabled(Level::info));
  EXPECT_TRUE(enabled(Level::warn));
  EXPECT_TRUE(enabled(Level::error));
  set_level(Level::off);
  EXPECT_FALSE(enabled(Level::error));
  set_level(Level::trace);
  EXPECT_TRUE(enabled(Level::trace));
  set_level(Level::info);
}

TEST(Log, OnlyRankZeroLogsBelowError) {
  set_level(Level::debug);
  set_rank(1);
  EXPECT_FALSE(enabled(Level::warn));
  EXPECT_FALSE(enabled(Level::debug));
  EXPECT_TRUE(enabled(Level::error));
  set_rank(0);
  EXPECT_TRUE(enabled(Level::debug));
  set_level(Level::info);
}

}  // namespace
}  // namespace kiln::logging
