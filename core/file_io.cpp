#include "core/file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace kiln {

std::string read_text_file(const std::filesystem::path& path, std::string_view op) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error))
    fail(op, "cannot read {}: it is a directory", path.string());
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(op, "cannot read {}: {}", path.string(), std::strerror(errno));
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) fail(op, "cannot read {}: read error", path.string());
  return std::move(contents).str();
}

nlohmann::json read_json_file(const std::filesystem::path& path, std::string_view op) {
  const std::string text = read_text_file(path, op);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(op, "{} is not valid JSON: {}", path.string(), e.what());
  }
}

namespace {

// Writes all of `contents` to `fd` and fsyncs it; false (errno set) on failure.
bool write_and_sync(int fd, std::string_view contents) {
  const char* data = contents.data();
  size_t left = contents.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    left -= static_cast<size_t>(n);
  }
  return ::fsync(fd) == 0;
}

}  // namespace

void sync_directory(const std::filesystem::path& dir, std::string_view op) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail(op, "cannot open {} to sync it: {}", dir.string(), std::strerror(errno));
  const bool synced = ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!synced) fail(op, "cannot sync {}: {}", dir.string(), std::strerror(saved));
}

void write_file_atomically(const std::filesystem::path& path, std::string_view contents,
                           std::string_view op) {
  std::filesystem::path temporary = path;
  // Unique per process and call, so concurrent saves never share a temporary file.
  static std::atomic<unsigned> counter{0};
  temporary += fmt::format(".tmp.{}.{}", static_cast<long>(::getpid()), counter++);
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(op, "cannot write {}: {}", temporary.string(), std::strerror(errno));
  // The data reaches the disk before the rename publishes it: after a crash, `path` holds the
  // old contents or the new ones, never an empty or partial file.
  const bool written = write_and_sync(fd, contents);
  const int saved = errno;
  const bool closed = ::close(fd) == 0;
  if (!written || !closed) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    fail(op, "cannot write {}: {}", temporary.string(), std::strerror(written ? errno : saved));
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    fail(op, "cannot rename {} to {}: {}", temporary.string(), path.string(), error.message());
  }
  sync_directory(path.parent_path(), op);
}

}  // namespace kiln
