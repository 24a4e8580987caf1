#include "cli/validators.h"

#include <fmt/core.h>

#include <charconv>
#include <cmath>
#include <string>
#include <system_error>

namespace kiln::cli {
namespace {

// Parses the whole of `text` as base-10 T; false on anything else (sign for unsigned types,
// trailing characters, overflow).
template <typename T>
bool parse_whole(const std::string& text, T& value) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return ec == std::errc() && ptr == end && !text.empty();
}

// A finite floating-point number written in decimal (no hex, inf or nan).
bool parse_finite(const std::string& text, double& value) {
  return parse_whole(text, value) && std::isfinite(value);
}

}  // namespace

CLI::Validator decimal_integer(int64_t min, int64_t max) {
  const bool bounded = max != std::numeric_limits<int64_t>::max();
  const std::string range = bounded ? fmt::format("an integer in [{}, {}]", min, max)
                                    : fmt::format("an integer >= {}", min);
  return CLI::Validator(
      [min, max, range](std::string& text) -> std::string {
        int64_t value = 0;
        if (!parse_whole(text, value) || value < min || value > max)
          return fmt::format("expected {}, got '{}'", range, text);
        text = std::to_string(value);
        return {};
      },
      bounded ? fmt::format("in [{}, {}]", min, max) : fmt::format(">= {}", min));
}

CLI::Validator unsigned_integer() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        uint64_t value = 0;
        if (!parse_whole(text, value))
          return fmt::format("expected an integer in [0, 2^64 - 1], got '{}'", text);
        text = std::to_string(value);
        return {};
      },
      "< 2^64");
}

CLI::Validator positive_number() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        double value = 0;
        if (!parse_finite(text, value) || value <= 0.0)
          return fmt::format("expected a finite number > 0, got '{}'", text);
        return {};
      },
      "> 0");
}

CLI::Validator probability() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        double value = 0;
        if (!parse_finite(text, value) || value <= 0.0 || value > 1.0)
          return fmt::format("expected a number in (0, 1], got '{}'", text);
        return {};
      },
      "in (0, 1]");
}

}  // namespace kiln::cli
