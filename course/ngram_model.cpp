#include "course/ngram_model.h"

#include <cctype>
#include <cmath>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/file_io.h"

namespace kiln::course {

std::vector<std::string> words_of(const std::string& sentence) {
  std::vector<std::string> words;
  std::istringstream in(sentence);
  std::string raw;
  while (in >> raw) {
    std::string word;
    std::vector<std::string> trailing;
    for (const char c : raw) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 128 && std::ispunct(u) && c != '\'' && c != '-') {
        if (!word.empty()) words.push_back(word), word.clear();
        words.push_back(std::string(1, c));
      } else {
        word += static_cast<char>(u < 128 ? std::tolower(u) : u);
      }
    }
    if (!word.empty()) words.push_back(word);
  }
  return words;
}

std::vector<std::string> read_lines(const std::string& path, const std::string& op) {
  std::istringstream in(read_text_file(path, op));
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty() && line[0] != '#') lines.push_back(line);
  }
  KILN_CHECK(!lines.empty(), op, "{} has no lines of text", path);
  return lines;
}

NgramModel::NgramModel(int order, double k) : order_(order), k_(k) {
  KILN_CHECK(order >= 1, "ngram", "order {} must be at least 1", order);
  KILN_CHECK(k > 0, "ngram", "add-k smoothing needs k > 0, got {}", k);
}

std::string NgramModel::key(const std::vector<std::string>& context) const {
  std::string out;
  const size_t n = static_cast<size_t>(order_ - 1);
  for (size_t i = 0; i < n; ++i) {
    const size_t from_end = n - i;
    const std::string& w = from_end <= context.size() ? context[context.size() - from_end] : "<s>";
    out += (known_.count(w) || w == "<s>" ? w : "<unk>") + " ";
  }
  return out;
}

void NgramModel::train(const std::vector<std::string>& sentences) {
  std::set<std::string> seen;
  for (const std::string& s : sentences)
    for (const std::string& w : words_of(s)) seen.insert(w);
  vocabulary_.assign(seen.begin(), seen.end());
  vocabulary_.push_back("</s>");
  vocabulary_.push_back("<unk>");
  for (const std::string& w : vocabulary_) known_[w] = 1;
  for (const std::string& s : sentences) {
    std::vector<std::string> words = words_of(s);
    words.push_back("</s>");
    std::vector<std::string> context;
    for (const std::string& w : words) {
      const std::string c = key(context);
      ++context_counts_[c];
      ++ngram_counts_[c + w];
      context.push_back(w);
    }
  }
}

double NgramModel::probability(const std::vector<std::string>& context,
                               const std::string& word) const {
  const std::string c = key(context);
  const std::string w = known_.count(word) ? word : "<unk>";
  const auto cc = context_counts_.find(c);
  const auto nc = ngram_counts_.find(c + w);
  const double count_context = cc == context_counts_.end() ? 0.0 : static_cast<double>(cc->second);
  const double count_ngram = nc == ngram_counts_.end() ? 0.0 : static_cast<double>(nc->second);
  return (count_ngram + k_) / (count_context + k_ * static_cast<double>(vocabulary_.size()));
}

std::vector<double> NgramModel::log_probabilities(const std::string& sentence) const {
  std::vector<std::string> words = words_of(sentence);
  words.push_back("</s>");
  std::vector<double> out;
  std::vector<std::string> context;
  for (const std::string& w : words) {
    out.push_back(std::log(probability(context, w)));
    context.push_back(w);
  }
  return out;
}

}  // namespace kiln::course
