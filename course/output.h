#pragma once
// What every experiment produces: a table on stdout, CSV files and a PNG in its output
// directory. Plots are drawn by course/plot_course.py with Debian's matplotlib; when that
// cannot run, one warning line is printed and the CSVs remain (a plot is a view of the data,
// never the only copy of it).
#include <filesystem>
#include <string>
#include <vector>

namespace kiln::course {

// A table: a header and rows of already formatted cells.
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;

  void add(std::vector<std::string> row) { rows.push_back(std::move(row)); }
  // Columns aligned to their widest cell.
  void print() const;
  // RFC 4180: cells with a comma, quote or newline are quoted.
  std::string csv() const;
};

// A number as a table cell: `digits` after the point.
std::string cell(double value, int digits = 4);

class Output {
 public:
  // Creates `dir`; `plot` false skips the PNGs (tests, or no matplotlib wanted).
  Output(std::filesystem::path dir, bool plot);

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path path(const std::string& file) const { return dir_ / file; }
  // Writes dir/file atomically and says so.
  void write(const std::string& file, const std::string& contents) const;
  void write_csv(const std::string& file, const Table& table) const { write(file, table.csv()); }
  // Runs `plot_course.py KIND --png dir/png --dir dir [extra...]`. Returns false, after one
  // warning line, when the plot could not be drawn.
  bool plot(const std::string& kind, const std::string& png,
            const std::vector<std::string>& extra = {}) const;

 private:
  std::filesystem::path dir_;
  bool plot_;
};

// The folder of course/ in the source tree (plot scripts, data files).
std::filesystem::path course_source_dir();
// A file of course/data/.
std::filesystem::path course_data(const std::string& file);

}  // namespace kiln::course
