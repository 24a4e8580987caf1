// TP2, decoding strategies: one prompt continued by greedy decoding, sampling at temperature
// 0.7, top-k (10, 50, 100) and top-p (0.9, 0.95). Greedy is deterministic and tends to repeat
// itself; sampling is more varied, and top-k / top-p cut the unlikely tail that makes it drift.
#include <fmt/core.h>

#include <set>

#include "course/experiments.h"
#include "course/language_model.h"
#include "infer/generation.h"

namespace kiln::course {
namespace {

struct Strategy {
  std::string name;
  infer::SamplingOptions sampling;
};

void run(const Args& args, Output& out) {
  const std::string prompt = args.text("prompt");
  const int64_t length = args.integer("length", 1, 1000);
  const auto seed = static_cast<uint64_t>(args.integer("seed", 0, INT64_MAX));
  const double temperature = args.number("temperature", 1e-3, 100.0);
  std::vector<Strategy> strategies = {
      {"greedy", {true, 1.0, 0, 1.0}},
      {fmt::format("temperature {}", temperature), {false, temperature, 0, 1.0}}};
  for (const int64_t k : args.integers("top-k", 1, 1000000))
    strategies.push_back({fmt::format("top-k {}", k), {false, 1.0, k, 1.0}});
  for (const double p : args.numbers("top-p", 1e-6, 1.0))
    strategies.push_back({fmt::format("top-p {}", p), {false, 1.0, 0, p}});

  LanguageModel lm = language_model(args);
  const std::vector<int64_t> ids = lm.tokenizer->encode(prompt);
  KILN_CHECK(!ids.empty(), args.op(), "the prompt encodes to no tokens");
  Table table{{"strategy", "distinct_tokens_ratio", "continuation"}, {}};
  for (const Strategy& s : strategies) {
    infer::GenerationOptions g;
    g.max_new_tokens = length;
    g.sampling = s.sampling;
    g.seed = seed;
    const std::vector<int64_t> generated = infer::generate(*lm.model, {ids}, g)[0];
    std::string text = lm.tokenizer->decode(generated);
    for (char& c : text)
      if (c == '\n' || c == '\r') c = ' ';
    const std::set<int64_t> distinct(generated.begin(), generated.end());
    table.add({s.name,
               cell(static_cast<double>(distinct.size()) /
                        static_cast<double>(std::max<size_t>(1, generated.size())),
                    3),
               text});
  }
  fmt::print("prompt: \"{}\"\n", prompt);
  table.print();
  out.write_csv("decoding.csv", table);
  out.plot("decoding", "decoding.png");
}

}  // namespace

Experiment decoding_experiment() {
  std::vector<Knob> knobs = {{"prompt", "The prompt every strategy continues", "le modèle", ""},
                             {"length", "New tokens per strategy", "40", "6"},
                             {"temperature", "Temperature of plain sampling", "0.7", ""},
                             {"top-k", "k values, comma-separated", "10,50,100", ""},
                             {"top-p", "p values, comma-separated", "0.9,0.95", ""},
                             {"seed", "Seeds the sampling", "0", ""}};
  for (Knob& k : language_model_knobs()) knobs.push_back(k);
  return {"decoding", "TP2: stratégies de génération",
          "One prompt under greedy, temperature, top-k and top-p decoding, side by side", knobs,
          run};
}

}  // namespace kiln::course
