#include "core/atomic_file.h"

#include <unistd.h>

#include <fstream>

#include "core/error.h"

namespace kiln {
namespace fs = std::filesystem;

fs::path temporary_path_for(const fs::path& path) {
  return path.string() + ".tmp-" + std::to_string(::getpid());
}

void write_file_atomically(const fs::path& path, std::string_view contents, std::string_view op) {
  const fs::path temp = temporary_path_for(path);
  std::error_code ec;
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.flush();
    if (!out.good()) {
      fs::remove(temp, ec);
      fail(op, "cannot write {}", path.string());
    }
  }
  fs::rename(temp, path, ec);
  if (ec) {
    const std::string reason = ec.message();
    fs::remove(temp, ec);
    fail(op, "cannot replace {}: {}", path.string(), reason);
  }
}

}  // namespace kiln
