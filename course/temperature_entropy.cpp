// Experiment 9: temperature and entropy. Dividing the logits by T before the softmax sharpens
// the next-token distribution (T < 1) or flattens it (T > 1); its entropy H(p) = -Σ p log p
// grows with T, and so does the variety of the continuations sampled at each T.
#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "course/experiments.h"
#include "course/language_model.h"
#include "infer/generation.h"

namespace kiln::course {
namespace {

// The entropy (nats) of softmax(log_probs / t): temperature applied to a distribution.
double entropy_at_temperature(const std::vector<double>& log_probs, double t) {
  double max = -INFINITY;
  for (const double l : log_probs) max = std::max(max, l / t);
  double z = 0;
  for (const double l : log_probs) z += std::exp(l / t - max);
  double h = 0;
  for (const double l : log_probs) {
    const double log_p = l / t - max - std::log(z);
    h -= std::exp(log_p) * log_p;
  }
  return h;
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

void run(const Args& args, Output& out) {
  const std::vector<double> temperatures = args.numbers("temperatures", 1e-3, 100.0);
  const int64_t samples = args.integer("samples", 0, 100);
  const int64_t length = args.integer("length", 1, 1000);
  const std::string prompt = args.text("prompt");
  LanguageModel lm = language_model(args);
  const std::vector<int64_t> ids = lm.tokenizer->encode(prompt);
  KILN_CHECK(!ids.empty(), args.op(), "the prompt encodes to no tokens");
  const std::vector<double> log_probs = next_token_log_probs(*lm.model, ids);
  const auto best = std::max_element(log_probs.begin(), log_probs.end()) - log_probs.begin();
  fmt::print("next token after \"{}\" (most likely: '{}')\n", prompt,
             lm.tokenizer->decode({static_cast<int64_t>(best)}));

  Table table{{"temperature", "entropy_nats", "top_probability"}, {}};
  Table texts{{"temperature", "sample", "continuation"}, {}};
  for (const double t : temperatures) {
    double max = -INFINITY, z = 0;
    for (const double l : log_probs) max = std::max(max, l / t);
    for (const double l : log_probs) z += std::exp(l / t - max);
    table.add({cell(t, 2), cell(entropy_at_temperature(log_probs, t)),
               cell(std::exp(log_probs[best] / t - max) / z)});
    infer::GenerationOptions g;
    g.max_new_tokens = length;
    g.sampling.temperature = t;
    for (int64_t s = 0; s < samples; ++s) {
      g.seed = static_cast<uint64_t>(s);
      const auto generated = infer::generate(*lm.model, {ids}, g);
      texts.add({cell(t, 2), std::to_string(s + 1), one_line(lm.tokenizer->decode(generated[0]))});
    }
  }
  table.print();
  fmt::print("\n");
  texts.print();
  out.write_csv("entropy.csv", table);
  out.write_csv("samples.csv", texts);
  out.plot("temperature_entropy", "temperature_entropy.png");
}

}  // namespace

Experiment temperature_entropy_experiment() {
  std::vector<Knob> knobs = {
      {"prompt", "The fixed prompt", "le chat", ""},
      {"temperatures", "Temperatures, comma-separated", "0.1,0.5,1.0,1.5", ""},
      {"samples", "Continuations sampled at each temperature", "3", "1"},
      {"length", "Tokens per continuation", "30", "5"}};
  for (Knob& k : language_model_knobs()) knobs.push_back(k);
  return {"temperature-entropy", "Expérience 9: température et entropie",
          "Entropy of the next-token distribution against temperature, and samples at each", knobs,
          run};
}

}  // namespace kiln::course
