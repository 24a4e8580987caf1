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

// Writes `contents` to a temporary file next to `path`, then renames it over `path`.
void write_file_atomically(const std::filesystem::path& path, std::string_view contents,
                           std::string_view op);

}  // namespace kiln
