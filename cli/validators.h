#pragma once
// Checks for numeric options, stricter than CLI11's own: CLI11 2.1 reads integers with base
// auto-detection ("010" is 8, "0x10" is 16), lets an unsigned option wrap ("-1" becomes
// 2^64 - 1) or saturate on overflow, and its range messages print DBL_MAX in full. These accept
// plain decimal text only and name the accepted range in one short line.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <limits>

namespace kiln::cli {

// A base-10 integer in [min, max], rewritten in canonical form so that CLI11 converts exactly
// the value that was checked.
CLI::Validator decimal_integer(int64_t min, int64_t max = std::numeric_limits<int64_t>::max());

// A base-10 integer in [0, 2^64 - 1] (seeds).
CLI::Validator unsigned_integer();

// A finite number > 0 (temperatures).
CLI::Validator positive_number();

// A number in (0, 1] (top-p).
CLI::Validator probability();

}  // namespace kiln::cli
