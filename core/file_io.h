#pragma once
// Reading and writing small files (configs, tokenizers, CSV exports): errors name the file,
// and writes go to a temporary file renamed into place, so an interrupted save never leaves a
// half-written file.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <string_view>

namespace kiln {

// The whole file; kiln::Error("[op] cannot read <path>: ...") when it is missing or unreadable.
std::string read_text_file(const std::filesystem::path& path, std::string_view op);

// The file parsed as JSON; kiln::Error naming the file and the parser's message when it is not.
nlohmann::json read_json_file(const std::filesystem::path& path, std::string_view op);

// Writes `contents` to a temporary file next to `path`, fsyncs it, renames it over `path` and
// fsyncs the directory: once it returns, the new contents survive a power failure, and at any
// moment `path` holds the old contents or the new ones. On an error the temporary file is
// removed and kiln::Error names the file.
void write_file_atomically(const std::filesystem::path& path, std::string_view contents,
                           std::string_view op);

// fsyncs a directory, so that entries renamed into it survive a power failure (a rename is
// durable only once its directory is synced). kiln::Error naming `dir` on failure.
void sync_directory(const std::filesystem::path& dir, std::string_view op);

}  // namespace kiln
