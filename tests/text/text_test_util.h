#pragma once
// Paths and helpers shared by the text/ tests. Fixtures come from
// scripts/make_tokenizer_fixtures.py; the shared data (../shared/data) is optional.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "core/error.h"
#include "core/file_io.h"
#include "text/utf8.h"

namespace kiln::testing {

inline std::filesystem::path fixtures() {
  return KILN_TEXT_FIXTURES;
}
inline std::filesystem::path shared_data() {
  return KILN_SHARED_DATA;
}

// The message of the kiln::Error that f throws, or a marker no test expects.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no kiln::Error)";
}

// The (text, ids) vectors of a fixture file's list `key`.
inline std::vector<std::pair<std::string, std::vector<int64_t>>> vectors(
    const std::filesystem::path& file, const std::string& key) {
  const nlohmann::json root = read_json_file(file, "test");
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  for (const auto& entry : root.at(key)) {
    out.emplace_back(entry.at("text").get<std::string>(),
                     entry.at("ids").get<std::vector<int64_t>>());
  }
  return out;
}

// A fresh directory under the system's temporary directory, removed at the end of the scope.
class TemporaryDirectory {
 public:
  TemporaryDirectory() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("kiln_text_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" +
             std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Random valid UTF-8 mixing ASCII, spaces, Latin-1, CJK, emoji, combining marks and any other
// scalar value, so every branch of the pre-tokenisation regex and of UTF-8 gets exercised.
inline std::string random_utf8(std::mt19937& rng, size_t characters) {
  static const char32_t kPicks[] = {U' ', U' ', U'\n', U'\t', U'\'',  U's',   U'e',   U'.',
                                    U'1', U'é', U'中', U'😀',  0x0301, 0x00A0, 0x3000, 0x200D};
  std::string out;
  for (size_t i = 0; i < characters; ++i) {
    char32_t c;
    switch (rng() % 6) {
      case 0:
        c = kPicks[rng() % std::size(kPicks)];
        break;
      case 1:
      case 2:
        c = 0x20 + rng() % 0x5F;
        break;
      case 3:
        c = 0x80 + rng() % 0x780;
        break;
      case 4:
        c = 0x800 + rng() % 0xF800;
        break;
      default:
        c = 0x10000 + rng() % 0x100000;
        break;
    }
    if (c >= 0xD800 && c <= 0xDFFF) c = U'x';
    utf8::append(out, c);
  }
  return out;
}

}  // namespace kiln::testing
