#pragma once
// The checks that raise kiln::Error (defined in kernels/error.h, so that every layer throws the
// one type). Messages name the op, what was given and what was expected:
// "[layer_norm] weight has shape [768], expected [1024] (...)".
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>

#include "kernels/error.h"

namespace kiln {

// Throws kiln::Error("[op] message") with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void fail(std::string_view op, fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format("[{}] {}", op, fmt::format(format, std::forward<Args>(args)...)));
}

}  // namespace kiln

// User-facing check: KILN_CHECK(cond, "op", "format {}", args...).
#define KILN_CHECK(cond, op, ...)               \
  do {                                          \
    if (!(cond)) ::kiln::fail(op, __VA_ARGS__); \
  } while (0)
