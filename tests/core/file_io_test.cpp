// core/file_io: atomic writes leave the new contents or the old file, never a temporary one.
// (That the data and the directory entry are fsynced before the function returns cannot be
// observed without cutting the power; it is read in the code.)
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/file_io.h"

namespace kiln {
namespace {
namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  const fs::path dir =
      fs::path(::testing::TempDir()) / ("kiln_file_io_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(FileIo, WritesAndReplacesContentsLeavingNoTemporaryFile) {
  const fs::path dir = fresh_dir("write");
  write_file_atomically(dir / "a.json", "{\"x\": 1}\n", "test");
  EXPECT_EQ(read_text_file(dir / "a.json", "test"), "{\"x\": 1}\n");
  const std::string big(1 << 20, 'k');
  write_file_atomically(dir / "a.json", big, "test");
  EXPECT_EQ(read_text_file(dir / "a.json", "test"), big);
  write_file_atomically(dir / "empty", "", "test");
  EXPECT_EQ(read_text_file(dir / "empty", "test"), "");
  EXPECT_EQ(names_in(dir), (std::vector<std::string>{"a.json", "empty"}));
}

TEST(FileIo, AFailedRenameKeepsTheOldEntryAndRemovesTheTemporaryFile) {
  const fs::path dir = fresh_dir("rename");
  // A non-empty directory cannot be replaced by a file.
  fs::create_directories(dir / "target" / "inside");
  try {
    write_file_atomically(dir / "target", "data", "test");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("[test]"), std::string::npos) << message;
    EXPECT_NE(message.find((dir / "target").string()), std::string::npos) << message;
  }
  EXPECT_EQ(names_in(dir), (std::vector<std::string>{"target"}));
  EXPECT_TRUE(fs::is_directory(dir / "target" / "inside"));
}

TEST(FileIo, AMissingDirectoryIsAnErrorNamingThePath) {
  const fs::path dir = fresh_dir("missing");
  try {
    write_file_atomically(dir / "no" / "such" / "file.txt", "data", "test");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("file.txt"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(names_in(dir).empty());
}

}  // namespace
}  // namespace kiln
