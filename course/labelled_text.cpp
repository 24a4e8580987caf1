#include "course/labelled_text.h"

#include <sstream>

#include "core/error.h"
#include "core/file_io.h"

namespace kiln::course {

std::vector<LabelledText> read_labelled(const std::string& path, const std::string& op) {
  std::istringstream in(read_text_file(path, op));
  std::vector<LabelledText> out;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const size_t tab = line.find('\t');
    KILN_CHECK(tab != std::string::npos && tab > 0 && tab + 1 < line.size(), op,
               "{}:{}: expected 'label<TAB>text'", path, number);
    out.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  KILN_CHECK(!out.empty(), op, "{} has no labelled lines", path);
  return out;
}

double continuation_log_prob(LanguageModel& lm, const std::string& prompt,
                             const std::string& continuation) {
  std::vector<int64_t> ids = lm.tokenizer->encode(prompt);
  const std::vector<int64_t> tail = lm.tokenizer->encode(continuation);
  double total = 0;
  for (const int64_t id : tail) {
    total += next_token_log_probs(*lm.model, ids)[static_cast<size_t>(id)];
    ids.push_back(id);
  }
  return total;
}

}  // namespace kiln::course
