#pragma once
// A word n-gram language model with add-k smoothing, the course's pre-neural baseline:
// P(w | u) = (count(u, w) + k) / (count(u) + k V) for a context u of n-1 words, where V counts
// every word seen in training plus </s> and <unk>, so the probabilities over the vocabulary sum
// to exactly 1 for every context, seen or not.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kiln::course {

// Lower-cased words split on spaces; punctuation that touches a word becomes its own word.
std::vector<std::string> words_of(const std::string& sentence);
// Non-empty lines of a file that do not start with '#'.
std::vector<std::string> read_lines(const std::string& path, const std::string& op);

class NgramModel {
 public:
  NgramModel(int order, double k);
  // Counts every n-gram of the sentences, padded with n-1 <s> at the start and </s> at the end.
  void train(const std::vector<std::string>& sentences);

  // The vocabulary: every training word, then </s> and <unk>.
  const std::vector<std::string>& vocabulary() const { return vocabulary_; }
  // P(word | the last n-1 words of `context`, padded with <s>); unknown words count as <unk>.
  double probability(const std::vector<std::string>& context, const std::string& word) const;
  // log P of each word of the sentence and of the final </s>, in order.
  std::vector<double> log_probabilities(const std::string& sentence) const;
  int order() const { return order_; }

 private:
  std::string key(const std::vector<std::string>& context) const;
  int order_;
  double k_;
  std::vector<std::string> vocabulary_;
  std::map<std::string, int64_t> known_;
  std::map<std::string, int64_t> context_counts_;
  std::map<std::string, int64_t> ngram_counts_;
};

}  // namespace kiln::course
