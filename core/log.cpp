#include "core/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <mutex>

#include "core/error.h"

namespace kiln::logging {
namespace {

constexpr std::array<std::string_view, 6> kNames = {"trace", "debug", "info",
                                                    "warn",  "error", "off"};

std::atomic<int> g_rank{0};
std::once_flag g_configured;
std::atomic<Level> g_level{Level::info};

// Without configure_from_environment(), the first message reads the variable; a bad value
// then falls back to info with a warning, as a library has no start-up to fail at.
void configure_lazily() {
  std::call_once(g_configured, [] {
    const char* value = std::getenv("KILN_LOG_LEVEL");
    try {
      g_level = level_from_env(value);
    } catch (const Error& e) {
      g_level = Level::info;
      write(Level::warn, fmt::format("{}; using info", e.what()));
    }
  });
}

spdlog::logger& logger() {
  static const std::shared_ptr<spdlog::logger> instance = [] {
    auto made =
        std::make_shared<spdlog::logger>("kiln", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    made->set_pattern("kiln [%l] %v");
    made->set_level(spdlog::level::trace);  // filtering is enabled()'s
    return made;
  }();
  return *instance;
}

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::trace:
      return spdlog::level::trace;
    case Level::debug:
      return spdlog::level::debug;
    case Level::info:
      return spdlog::level::info;
    case Level::warn:
      return spdlog::level::warn;
    case Level::error:
      return spdlog::level::err;
    case Level::off:
      break;
  }
  return spdlog::level::off;
}

}  // namespace

Level parse_level(std::string_view text) {
  for (size_t i = 0; i < kNames.size(); ++i)
    if (text == kNames[i]) return static_cast<Level>(i);
  fail("log", "KILN_LOG_LEVEL '{}' is not a level, expected one of {}", text,
       fmt::join(kNames, "|"));
}

Level level_from_env(const char* value) {
  return value == nullptr ? Level::info : parse_level(value);
}

void configure_from_environment() {
  const Level parsed = level_from_env(std::getenv("KILN_LOG_LEVEL"));
  std::call_once(g_configured, [] {});
  g_level = parsed;
}

void set_level(Level level) {
  std::call_once(g_configured, [] {});
  g_level = level;
}

Level level() {
  configure_lazily();
  return g_level;
}

void set_rank(int rank) {
  g_rank = rank;
}

bool enabled(Level message) {
  if (message == Level::off) return false;
  const Level threshold = g_rank == 0 ? level() : std::max(level(), Level::error);
  return message >= threshold;
}

void write(Level level, const std::string& message) {
  logger().log(to_spdlog(level), message);
}

}  // namespace kiln::logging
