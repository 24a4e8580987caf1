#include "core/file_io.h"

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

void write_file_atomically(const std::filesystem::path& path, std::string_view contents,
                           std::string_view op) {
  std::filesystem::path temporary = path;
  // Unique per process and call, so concurrent saves never share a temporary file.
  static std::atomic<unsigned> counter{0};
  temporary += fmt::format(".tmp.{}.{}", static_cast<long>(::getpid()), counter++);
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) fail(op, "cannot write {}: {}", temporary.string(), std::strerror(errno));
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.flush();
    if (!out) {
      std::error_code ignored;
      std::filesystem::remove(temporary, ignored);
      fail(op, "cannot write {}: {}", temporary.string(), std::strerror(errno));
    }
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    fail(op, "cannot rename {} to {}: {}", temporary.string(), path.string(), error.message());
  }
}

}  // namespace kiln
