// The slides' embedding-similarity demonstration: each word's vector is its token embedding in
// the model (the mean of its pieces' rows of wte when it is cut into several), compared by
// cosine similarity, with its nearest neighbours in the whole vocabulary.
#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "core/ops.h"
#include "course/experiments.h"
#include "course/language_model.h"

namespace kiln::course {
namespace {

std::vector<double> normalised(std::vector<double> v) {
  double n = 0;
  for (const double x : v) n += x * x;
  n = std::sqrt(std::max(n, 1e-30));
  for (double& x : v) x /= n;
  return v;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

void run(const Args& args, Output& out) {
  std::vector<std::string> words;
  {
    const std::string list = args.text("words");
    size_t start = 0;
    while (true) {
      const size_t comma = list.find(',', start);
      if (comma > start) words.push_back(list.substr(start, comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  const int64_t neighbours = args.integer("neighbours", 1, 100);
  LanguageModel lm = language_model(args);
  const Tensor wte = lm.model->parameter("wte.weight").contiguous();
  const int64_t vocab = lm.tokenizer->vocab_size();
  const int64_t dim = wte.shape()[1];
  const auto table = wte.to_vector<float>();
  const auto row = [&](int64_t id) {
    return std::vector<double>(table.begin() + id * dim, table.begin() + (id + 1) * dim);
  };

  std::vector<std::vector<double>> vectors;
  for (const std::string& w : words) {
    // A space first: inside a sentence a word comes after one, and BPE vocabularies hold that form.
    const std::vector<int64_t> ids = lm.tokenizer->encode(" " + w);
    std::vector<double> v(static_cast<size_t>(dim), 0.0);
    for (const int64_t id : ids) {
      const auto r = row(id);
      for (int64_t d = 0; d < dim; ++d) v[d] += r[d] / static_cast<double>(ids.size());
    }
    vectors.push_back(normalised(v));
  }
  // Cosine with every token of the vocabulary, row by row (GPT-2's table is 50257 x 768).
  const auto cosine_with = [&](const std::vector<double>& unit, int64_t id) {
    double d = 0, n = 0;
    for (int64_t c = 0; c < dim; ++c) {
      const double x = table[id * dim + c];
      d += unit[c] * x, n += x * x;
    }
    return d / std::sqrt(std::max(n, 1e-30));
  };

  Table similarity{{"word"}, {}};
  similarity.header.insert(similarity.header.end(), words.begin(), words.end());
  for (size_t i = 0; i < words.size(); ++i) {
    std::vector<std::string> r{words[i]};
    for (size_t j = 0; j < words.size(); ++j) r.push_back(cell(dot(vectors[i], vectors[j]), 3));
    similarity.add(r);
  }
  Table near{{"word", "neighbours (cosine)"}, {}};
  for (size_t i = 0; i < words.size(); ++i) {
    std::vector<std::pair<double, int64_t>> scored;
    const std::vector<int64_t> own = lm.tokenizer->encode(" " + words[i]);
    for (int64_t id = 0; id < vocab; ++id)
      if (std::find(own.begin(), own.end(), id) == own.end())
        scored.emplace_back(cosine_with(vectors[i], id), id);
    const auto shown = std::min<int64_t>(neighbours, static_cast<int64_t>(scored.size()));
    std::partial_sort(scored.begin(), scored.begin() + shown, scored.end(),
                      [](const auto& a, const auto& b) { return a.first > b.first; });
    std::string list;
    for (int64_t n = 0; n < shown; ++n)
      list += fmt::format("{}'{}' {:.2f}", n ? ", " : "", lm.tokenizer->decode({scored[n].second}),
                          scored[n].first);
    near.add({words[i], list});
  }
  fmt::print("cosine similarity of token embeddings ({}):\n", lm.description);
  similarity.print();
  fmt::print("\n");
  near.print();
  out.write_csv("similarity.csv", similarity);
  out.write_csv("neighbours.csv", near);
  out.plot("embeddings", "embeddings.png");
}

}  // namespace

Experiment embeddings_experiment() {
  std::vector<Knob> knobs = {{"words", "Words to compare, comma-separated",
                              "chat,chien,train,gare,cat,dog,station,model,modèle", ""},
                             {"neighbours", "Nearest tokens listed per word", "5", ""}};
  for (Knob& k : language_model_knobs()) knobs.push_back(k);
  return {"embeddings", "Tokens et embeddings: similarité entre embeddings",
          "Cosine similarities and nearest neighbours of a model's token embeddings", knobs, run};
}

}  // namespace kiln::course
