#pragma once
// The library's diagnostics (warnings, debug traces) on stderr through spdlog, as
// "kiln [warn] message". User-facing output (progress lines, results) stays on stdout and is
// not logged. The level comes from KILN_LOG_LEVEL (trace|debug|info|warn|error|off; default
// info). In a distributed run every rank but 0 keeps only errors, so N processes do not print
// each line N times.
#include <fmt/format.h>

#include <optional>
#include <string>
#include <string_view>

namespace kiln::logging {

enum class Level { trace, debug, info, warn, error, off };

// "trace" | "debug" | "info" | "warn" | "error" | "off"; anything else is a kiln::Error naming
// KILN_LOG_LEVEL and the valid names.
Level parse_level(std::string_view text);
// The level KILN_LOG_LEVEL asks for: `value` is the variable's text, null when it is unset
// (info).
Level level_from_env(const char* value);
// Reads KILN_LOG_LEVEL now, so that a bad value is an error at start-up (the CLI calls it)
// rather than a fallback at the first message.
void configure_from_environment();

void set_level(Level level);
Level level();
// This process's rank in a distributed run (0 when there is none).
void set_rank(int rank);
// Whether a message of `level` would be written, given the level and the rank.
bool enabled(Level level);

void write(Level level, const std::string& message);

template <typename... Args>
void trace(fmt::format_string<Args...> format, Args&&... args) {
  if (enabled(Level::trace)) write(Level::trace, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void debug(fmt::format_string<Args...> format, Args&&... args) {
  if (enabled(Level::debug)) write(Level::debug, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> format, Args&&... args) {
  if (enabled(Level::info)) write(Level::info, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> format, Args&&... args) {
  if (enabled(Level::warn)) write(Level::warn, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> format, Args&&... args) {
  if (enabled(Level::error)) write(Level::error, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace kiln::logging
