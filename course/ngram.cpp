// The slides' "Exemple simple N-Gram": a word trigram model (by default) counted on a
// mini-corpus, and its next-word distribution after a context. With add-k smoothing every word
// of the vocabulary gets some probability, and the distribution sums to 1.
#include <fmt/core.h>

#include <algorithm>
#include <numeric>

#include "course/experiments.h"
#include "course/ngram_model.h"

namespace kiln::course {
namespace {

void run(const Args& args, Output& out) {
  const int order = static_cast<int>(args.integer("order", 1, 6));
  const double k = args.number("k", 1e-9, 1e6);
  const int64_t top = args.integer("top", 1, 100000);
  const std::string corpus =
      args.text("corpus").empty() ? course_data("mini_corpus.txt").string() : args.text("corpus");
  NgramModel model(order, k);
  model.train(read_lines(corpus, args.op()));
  const std::vector<std::string> context = words_of(args.text("context"));

  std::vector<std::pair<double, std::string>> next;
  for (const std::string& w : model.vocabulary())
    next.emplace_back(model.probability(context, w), w);
  std::stable_sort(next.begin(), next.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  const double total = std::accumulate(next.begin(), next.end(), 0.0,
                                       [](double s, const auto& p) { return s + p.first; });
  fmt::print("{}-gram model, add-{} smoothing, on {} ({} words in the vocabulary)\n", order, k,
             corpus, model.vocabulary().size());
  fmt::print("P(next word | \"{}\"), the {} most likely:\n", args.text("context"), top);
  Table all{{"word", "probability"}, {}};
  for (const auto& [p, w] : next) all.add({w, fmt::format("{:.6f}", p)});
  Table shown{all.header,
              {all.rows.begin(), all.rows.begin() + std::min<int64_t>(top, all.rows.size())}};
  shown.print();
  fmt::print("sum over the vocabulary: {:.9f}\n", total);
  out.write_csv("next_word.csv", all);
  out.plot("ngram", "ngram.png", {"--top", std::to_string(top)});
}

}  // namespace

Experiment ngram_experiment() {
  return {"ngram",
          "Tokens et représentation: modèle n-gramme",
          "An n-gram model's next-word probabilities on a mini-corpus (add-k smoothing)",
          {{"context", "The words before the one predicted", "le chat", ""},
           {"order", "n: the model looks at the n-1 previous words", "3", ""},
           {"k", "Add-k smoothing constant", "1", ""},
           {"top", "Most likely words shown", "10", ""},
           {"corpus", "One sentence a line (default: course/data/mini_corpus.txt)", "", ""}},
          run};
}

}  // namespace kiln::course
