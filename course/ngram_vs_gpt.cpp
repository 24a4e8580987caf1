// Experiment 4: a trigram model against a GPT on the same held-out sentences. Perplexity per
// token depends on what a token is (a word for the trigram, a BPE piece for the GPT), so both
// are also given per character: exp(total negative log-likelihood / characters), where each
// model predicts the whole sentence and its end.
#include <fmt/core.h>

#include <cmath>

#include "course/experiments.h"
#include "course/language_model.h"
#include "course/ngram_model.h"

namespace kiln::course {
namespace {

struct Totals {
  double nll = 0;
  int64_t tokens = 0;
  int64_t characters = 0;
};

void run(const Args& args, Output& out) {
  const std::string path = args.text("sentences").empty() ? course_data("mini_corpus.txt").string()
                                                          : args.text("sentences");
  const int64_t every = args.integer("test-every", 2, 1000);
  const double k = args.number("k", 1e-9, 1e6);
  const std::vector<std::string> lines = read_lines(path, args.op());
  std::vector<std::string> train, test;
  for (size_t i = 0; i < lines.size(); ++i)
    (static_cast<int64_t>(i) % every == every - 1 ? test : train).push_back(lines[i]);
  KILN_CHECK(!test.empty(), args.op(), "{} has too few sentences for --test-every {}", path, every);
  NgramModel trigram(3, k);
  trigram.train(train);
  LanguageModel lm = language_model(args);

  Totals ngram_totals, gpt_totals;
  Table per_sentence{{"sentence", "trigram_nll", "gpt_nll", "characters"}, {}};
  const std::optional<int64_t> eos = lm.tokenizer->eos_id();
  for (const std::string& s : test) {
    const int64_t chars = static_cast<int64_t>(s.size()) + 1;  // the sentence and its end
    double ngram_nll = 0;
    for (const double l : trigram.log_probabilities(s)) ngram_nll -= l, ++ngram_totals.tokens;
    // The GPT starts from a line break (or its end-of-text token) and predicts the sentence and
    // the line break that ends it.
    std::vector<int64_t> ids = eos ? std::vector<int64_t>{*eos} : lm.tokenizer->encode("\n");
    const size_t start = ids.size();
    const std::vector<int64_t> target = lm.tokenizer->encode(s + "\n");
    ids.insert(ids.end(), target.begin(), target.end());
    double gpt_nll = 0;
    for (size_t i = start; i < ids.size(); ++i) {
      const std::vector<int64_t> context(ids.begin(), ids.begin() + static_cast<int64_t>(i));
      gpt_nll -= next_token_log_probs(*lm.model, context)[static_cast<size_t>(ids[i])];
      ++gpt_totals.tokens;
    }
    ngram_totals.nll += ngram_nll, gpt_totals.nll += gpt_nll;
    ngram_totals.characters += chars, gpt_totals.characters += chars;
    per_sentence.add({s, cell(ngram_nll, 3), cell(gpt_nll, 3), std::to_string(chars)});
  }
  fmt::print(
      "Experiment 4: trigram (add-{}) trained on {} sentences vs {}; {} held-out "
      "sentences\n",
      k, train.size(), lm.description, test.size());
  Table summary{{"model", "tokens", "perplexity_per_token", "perplexity_per_char"}, {}};
  for (const auto& [name, t] : {std::pair{"trigram", ngram_totals}, std::pair{"gpt", gpt_totals}})
    summary.add({name, std::to_string(t.tokens),
                 cell(std::exp(t.nll / static_cast<double>(t.tokens)), 2),
                 cell(std::exp(t.nll / static_cast<double>(t.characters)), 3)});
  summary.print();
  out.write_csv("summary.csv", summary);
  out.write_csv("sentences.csv", per_sentence);
  out.plot("ngram_vs_gpt", "ngram_vs_gpt.png");
}

}  // namespace

Experiment ngram_vs_gpt_experiment() {
  std::vector<Knob> knobs = {
      {"sentences", "One sentence a line (default: course/data/mini_corpus.txt)", "", ""},
      {"test-every", "Every n-th sentence is held out for scoring", "5", ""},
      {"k", "Add-k smoothing of the trigram", "1", ""}};
  for (Knob& kn : language_model_knobs()) knobs.push_back(kn);
  return {"ngram-vs-gpt", "Expérience 4: n-gramme vs GPT (perplexité)",
          "Trigram vs GPT perplexity on held-out sentences, per token and per character", knobs,
          run};
}

}  // namespace kiln::course
