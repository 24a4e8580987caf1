// Experiment 5: how long sentences are in words and in BPE tokens, and what that means for a
// context window. Sentences end at '.', '!', '?' or a blank line. The tokenizer is GPT-2's when
// given (--tokenizer), otherwise a byte-level BPE trained on the text itself (--vocab tokens).
#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "core/file_io.h"
#include "course/experiments.h"
#include "text/bpe_trainer.h"
#include "text/tokenizer.h"

namespace kiln::course {
namespace {

std::vector<std::string> sentences_of(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  const auto flush = [&] {
    const size_t a = current.find_first_not_of(" \t\r\n");
    if (a != std::string::npos) {
      const size_t b = current.find_last_not_of(" \t\r\n");
      out.push_back(current.substr(a, b - a + 1));
    }
    current.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n' && i + 1 < text.size() && text[i + 1] == '\n') {
      flush();
      continue;
    }
    current += c == '\n' ? ' ' : c;
    if (c == '.' || c == '!' || c == '?') flush();
  }
  flush();
  return out;
}

int64_t word_count(const std::string& s) {
  int64_t n = 0;
  bool in_word = false;
  for (const char c : s) {
    const bool space = c == ' ' || c == '\t';
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}

void run(const Args& args, Output& out) {
  const std::string path =
      args.text("text").empty() ? course_data("mini_corpus.txt").string() : args.text("text");
  const std::string text = read_text_file(path, args.op());
  std::unique_ptr<Tokenizer> tokenizer;
  std::string tokenizer_name;
  if (!args.text("tokenizer").empty()) {
    tokenizer = load_tokenizer(args.text("tokenizer"));
    tokenizer_name = args.text("tokenizer");
  } else {
    BpeTrainerOptions options;
    options.vocab_size = args.integer("vocab", 257, 1000000);
    tokenizer = std::make_unique<ByteLevelBpe>(train_byte_level_bpe(text, options));
    tokenizer_name = fmt::format("a {}-token BPE trained on the text", tokenizer->vocab_size());
  }
  const std::vector<std::string> sentences = sentences_of(text);
  KILN_CHECK(!sentences.empty(), args.op(), "{} has no sentences", path);

  Table per_sentence{{"words", "tokens", "sentence"}, {}};
  std::vector<double> words, tokens;
  for (const std::string& s : sentences) {
    words.push_back(static_cast<double>(word_count(s)));
    tokens.push_back(static_cast<double>(tokenizer->encode(s).size()));
    per_sentence.add({cell(words.back(), 0), cell(tokens.back(), 0), s});
  }
  const auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (const double x : v) s += x;
    return s / static_cast<double>(v.size());
  };
  const auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double mean_tokens = mean(tokens);
  fmt::print("Experiment 5: {} sentences of {}, tokenised by {}\n", sentences.size(), path,
             tokenizer_name);
  Table summary{{"measure", "words", "tokens"}, {}};
  summary.add({"mean per sentence", cell(mean(words), 2), cell(mean_tokens, 2)});
  summary.add({"median per sentence", cell(median(words), 0), cell(median(tokens), 0)});
  summary.add({"max", cell(*std::max_element(words.begin(), words.end()), 0),
               cell(*std::max_element(tokens.begin(), tokens.end()), 0)});
  summary.add({"tokens per word", "", cell(mean_tokens / mean(words), 3)});
  for (const int64_t window : {4096, 8192})
    summary.add({fmt::format("typical sentences in {} tokens", window), "",
                 cell(std::floor(static_cast<double>(window) / mean_tokens), 0)});
  summary.print();
  out.write_csv("sentences.csv", per_sentence);
  out.write_csv("summary.csv", summary);
  out.plot("token_lengths", "token_lengths.png");
}

}  // namespace

Experiment token_lengths_experiment() {
  return {"token-lengths",
          "Expérience 5: distribution de la longueur en tokens",
          "Words vs BPE tokens per sentence: histograms, scatter, sentences per 4k/8k window",
          {{"text", "Text file (default: course/data/mini_corpus.txt)", "", ""},
           {"tokenizer", "A tokenizer directory (e.g. GPT-2's); default: BPE trained on the text",
            "", ""},
           {"vocab", "Vocabulary of the BPE trained when no --tokenizer is given", "1000", "400"}},
          run};
}

}  // namespace kiln::course
