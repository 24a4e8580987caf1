#pragma once
// CUDA test cases skip on a machine without a device, so the suite passes on CPU-only CI. On a
// GPU machine a skip would hide a broken CUDA path (a driver the build cannot use, a device the
// process cannot see), so KILN_REQUIRE_CUDA=1 (set by scripts/gpu-check.sh) turns the skip into
// a failure.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string_view>

#include "core/device.h"

namespace kiln::testing {

// True when KILN_REQUIRE_CUDA is set to anything but "" or "0".
inline bool cuda_required() {
  const char* value = std::getenv("KILN_REQUIRE_CUDA");
  return value != nullptr && std::string_view(value) != "" && std::string_view(value) != "0";
}

}  // namespace kiln::testing

// First statement of a CUDA test body: returns from it, skipped (or failed under
// KILN_REQUIRE_CUDA), when no CUDA device is visible.
#define KILN_SKIP_WITHOUT_CUDA()                                                \
  do {                                                                          \
    if (!::kiln::cuda_available()) {                                            \
      if (::kiln::testing::cuda_required())                                     \
        GTEST_FAIL() << "no CUDA device visible, and KILN_REQUIRE_CUDA is set"; \
      GTEST_SKIP() << "no CUDA device";                                         \
    }                                                                           \
  } while (0)
