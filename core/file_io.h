#pragma once
// Writing a file so that readers see the old contents or the new, never half of it: the bytes
// go to "<path>.tmp-<pid>", which is renamed over `path` once everything is written.
#include <filesystem>
#include <string_view>

namespace kiln {

// Throws kiln::Error naming `op` and the path on failure, and leaves no temporary file behind.
void write_file_atomically(const std::filesystem::path& path, std::string_view contents,
                           std::string_view op);

// The temporary name write_file_atomically uses, for writers that stream large files.
std::filesystem::path temporary_path_for(const std::filesystem::path& path);

}  // namespace kiln
