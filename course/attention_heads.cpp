// Experiment 6: attention heat maps. For each sentence the model's attention weights of every
// layer and head are exported as CSV (what `kiln attention` writes), and the chosen layers and
// heads are drawn by course/plot_attention.py: row i is the token at position i looking back
// at the tokens before it (the causal mask leaves the upper triangle empty).
#include <fmt/core.h>

#include "course/experiments.h"
#include "course/language_model.h"
#include "infer/attention_maps.h"

namespace kiln::course {
namespace {

void run(const Args& args, Output& out) {
  std::vector<std::string> sentences;
  {
    const std::string list = args.text("sentences");
    size_t start = 0;
    while (true) {
      const size_t bar = list.find('|', start);
      if (bar > start) sentences.push_back(list.substr(start, bar - start));
      if (bar == std::string::npos) break;
      start = bar + 1;
    }
  }
  KILN_CHECK(!sentences.empty(), args.op(), "--sentences is empty");
  LanguageModel lm = language_model(args);
  const auto& config = lm.model->config();
  const std::vector<int64_t> layers = args.integers("layers", 0, config.n_layer - 1);
  const std::vector<int64_t> heads = args.integers("heads", 0, config.n_head - 1);
  Table table{{"sentence", "tokens", "folder"}, {}};
  for (size_t i = 0; i < sentences.size(); ++i) {
    const std::vector<int64_t> ids = lm.tokenizer->encode(sentences[i]);
    KILN_CHECK(!ids.empty() && static_cast<int64_t>(ids.size()) <= config.block_size, args.op(),
               "sentence {} has {} tokens, expected 1 to {}", i + 1, ids.size(), config.block_size);
    std::vector<std::string> tokens;
    for (const int64_t id : ids) tokens.push_back(lm.tokenizer->decode({id}));
    const std::string folder = fmt::format("sentence{}", i + 1);
    infer::export_attention_maps(*lm.model, ids, tokens, out.path(folder));
    table.add({sentences[i], std::to_string(ids.size()), out.path(folder).string()});
    out.plot("attention_heads", folder + ".png",
             {"--maps", out.path(folder).string(), "--layers", args.text("layers"), "--heads",
              args.text("heads"), "--title", sentences[i]});
  }
  fmt::print("attention maps of {} ({} layers x {} heads; drawn: layers {}, heads {})\n",
             lm.description, config.n_layer, config.n_head, fmt::join(layers, ","),
             fmt::join(heads, ","));
  table.print();
  out.write_csv("sentences.csv", table);
}

}  // namespace

Experiment attention_heads_experiment() {
  std::vector<Knob> knobs = {
      {"sentences", "Sentences separated by '|'",
       "Le médecin a vu sa patiente. Il lui a parlé longtemps.|The little girl reads a book in "
       "the garden.",
       ""},
      {"layers", "Layers to draw, comma-separated", "0,1", "0"},
      {"heads", "Heads to draw, comma-separated", "0,1", "0"}};
  for (Knob& k : language_model_knobs()) knobs.push_back(k);
  return {"attention-heads", "Expérience 6: visualiser des têtes d'attention",
          "Attention heat maps of chosen layers and heads on co-reference and syntax sentences",
          knobs, run};
}

}  // namespace kiln::course
