#include "course/output.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "core/error.h"
#include "core/file_io.h"

namespace kiln::course {
namespace fs = std::filesystem;

void Table::print() const {
  std::vector<size_t> widths(header.size(), 0);
  for (size_t c = 0; c < header.size(); ++c) widths[c] = header[c].size();
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size() && c < widths.size(); ++c)
      widths[c] = std::max(widths[c], row[c].size());
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t c = 0; c < cells.size(); ++c)
      out +=
          fmt::format("{}{:<{}}", c == 0 ? "" : "  ", cells[c], c < widths.size() ? widths[c] : 0);
    while (!out.empty() && out.back() == ' ') out.pop_back();
    fmt::print("{}\n", out);
  };
  line(header);
  for (const auto& row : rows) line(row);
  std::fflush(stdout);
}

std::string Table::csv() const {
  const auto quoted = [](const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string out = "\"";
    for (const char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
  };
  std::string out;
  const auto line = [&](const std::vector<std::string>& cells) {
    for (size_t c = 0; c < cells.size(); ++c) out += (c == 0 ? "" : ",") + quoted(cells[c]);
    out += '\n';
  };
  line(header);
  for (const auto& row : rows) line(row);
  return out;
}

std::string cell(double value, int digits) {
  return fmt::format("{:.{}f}", value, digits);
}

Output::Output(fs::path dir, bool plot) : dir_(std::move(dir)), plot_(plot) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  KILN_CHECK(!ec && fs::is_directory(dir_), "course", "cannot create the output folder {}: {}",
             dir_.string(), ec ? ec.message() : "not a directory");
}

void Output::write(const std::string& file, const std::string& contents) const {
  write_file_atomically(path(file), contents, "course");
  fmt::print("wrote {}\n", path(file).string());
}

namespace {

// Single quotes for /bin/sh: everything literal, a ' closes, escapes and reopens.
std::string shell_quote(const std::string& arg) {
  std::string out = "'";
  for (const char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// $KILN_PYTHON, else Debian's python3 (python3-matplotlib installs there; a venv's python3
// earlier on PATH would not see it).
std::string python_interpreter() {
  if (const char* chosen = std::getenv("KILN_PYTHON"); chosen != nullptr && *chosen != '\0')
    return chosen;
  return fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

std::string last_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  const size_t newline = text.rfind('\n');
  return newline == std::string::npos ? text : text.substr(newline + 1);
}

}  // namespace

bool Output::plot(const std::string& kind, const std::string& png,
                  const std::vector<std::string>& extra) const {
  if (!plot_) return false;
  const fs::path script = course_source_dir() / "plot_course.py";
  const fs::path errors = fs::temp_directory_path() / fmt::format("kiln_course_{}.err", ::getpid());
  std::string command = fmt::format("{} {} {} --dir {} --png {}", shell_quote(python_interpreter()),
                                    shell_quote(script.string()), shell_quote(kind),
                                    shell_quote(dir_.string()), shell_quote(path(png).string()));
  for (const std::string& arg : extra) command += " " + shell_quote(arg);
  command += fmt::format(" >/dev/null 2>{}", shell_quote(errors.string()));
  const int status = std::system(command.c_str());
  std::string message;
  if (status != 0) {
    std::error_code ec;
    if (fs::exists(errors, ec)) message = last_line(read_text_file(errors, "course"));
  }
  std::error_code ec;
  fs::remove(errors, ec);
  if (status != 0) {
    fmt::print("warning: no plot ({}); the CSV files are in {}\n",
               message.empty() ? "is python3-matplotlib installed?" : message, dir_.string());
    return false;
  }
  fmt::print("wrote {}\n", path(png).string());
  return true;
}

fs::path course_source_dir() {
  return fs::path(KILN_SOURCE_DIR) / "course";
}

fs::path course_data(const std::string& file) {
  return course_source_dir() / "data" / file;
}

}  // namespace kiln::course
