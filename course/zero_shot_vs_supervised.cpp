// Experiment 8: a prompted language model against a classifier trained on labelled examples.
// Zero-shot: the model reads "Text: ...\nSentiment (positive or negative):" and the label it
// finds more likely as a continuation is its answer. Supervised: TF-IDF vectors of the words
// and a logistic regression trained with kiln on the training split. Both are scored on the
// same test split (every third example of each label).
#include <fmt/core.h>

#include <cmath>
#include <map>
#include <set>

#include "core/ops.h"
#include "course/experiments.h"
#include "course/labelled_text.h"
#include "course/ngram_model.h"
#include "train/adamw.h"

namespace kiln::course {
namespace {

// TF-IDF with scikit-learn's smoothing: idf = ln((1 + N) / (1 + df)) + 1; rows L2-normalised.
class TfIdf {
 public:
  explicit TfIdf(const std::vector<LabelledText>& train) {
    std::map<std::string, int64_t> df;
    for (const auto& e : train) {
      const auto words = words_of(e.text);
      for (const std::string& w : std::set<std::string>(words.begin(), words.end())) ++df[w];
    }
    for (const auto& [w, count] : df) {
      index_[w] = static_cast<int64_t>(idf_.size());
      idf_.push_back(std::log((1.0 + static_cast<double>(train.size())) / (1.0 + count)) + 1.0);
    }
  }
  int64_t size() const { return static_cast<int64_t>(idf_.size()); }
  Tensor transform(const std::vector<LabelledText>& examples) const {
    std::vector<float> x(examples.size() * idf_.size(), 0.0f);
    for (size_t i = 0; i < examples.size(); ++i) {
      float* row = x.data() + i * idf_.size();
      for (const std::string& w : words_of(examples[i].text))
        if (const auto it = index_.find(w); it != index_.end())
          row[it->second] += static_cast<float>(idf_[it->second]);
      double norm = 0;
      for (size_t j = 0; j < idf_.size(); ++j) norm += row[j] * row[j];
      if (norm > 0)
        for (size_t j = 0; j < idf_.size(); ++j) row[j] /= static_cast<float>(std::sqrt(norm));
    }
    return from_vector(x, {static_cast<int64_t>(examples.size()), size()});
  }

 private:
  std::map<std::string, int64_t> index_;
  std::vector<double> idf_;
};

void run(const Args& args, Output& out) {
  const std::string path =
      args.text("data").empty() ? course_data("sentiment.txt").string() : args.text("data");
  const std::vector<LabelledText> all = read_labelled(path, args.op());
  std::vector<std::string> labels;
  for (const auto& e : all)
    if (std::find(labels.begin(), labels.end(), e.label) == labels.end()) labels.push_back(e.label);
  KILN_CHECK(labels.size() >= 2, args.op(), "{} has only one label", path);
  // Every third example of each label is for testing (stratified, so both splits are balanced).
  std::vector<LabelledText> train, test;
  std::map<std::string, int64_t> seen;
  for (const auto& e : all) (seen[e.label]++ % 3 == 2 ? test : train).push_back(e);
  const auto label_ids = [&](const std::vector<LabelledText>& set) {
    std::vector<int64_t> y;
    for (const auto& e : set)
      y.push_back(std::find(labels.begin(), labels.end(), e.label) - labels.begin());
    return y;
  };

  // Supervised: logistic regression (a linear layer and cross-entropy) on TF-IDF features.
  const TfIdf tfidf(train);
  const Tensor x_train = tfidf.transform(train);
  const Tensor y_train = from_vector(label_ids(train), {static_cast<int64_t>(train.size())});
  Tensor weight = zeros({static_cast<int64_t>(labels.size()), tfidf.size()});
  Tensor bias = zeros({static_cast<int64_t>(labels.size())});
  weight.set_requires_grad(true);
  bias.set_requires_grad(true);
  train::AdamW optimizer({{"weight", weight}, {"bias", bias}},
                         {args.number("lr", 1e-6, 10.0), 0.9, 0.999, 1e-8, 0.0});
  const int64_t steps = args.integer("steps", 1, 100000);
  for (int64_t s = 0; s < steps; ++s) {
    cross_entropy(linear(x_train, weight, bias), y_train).backward();
    optimizer.step();
    optimizer.zero_grad();
  }
  std::vector<int64_t> supervised;
  {
    NoGradGuard no_grad;
    supervised = argmax(linear(tfidf.transform(test), weight, bias), -1).to_vector<int64_t>();
  }

  // Zero-shot: the prompted model's more likely label.
  LanguageModel lm = language_model(args);
  const std::string question = args.text("prompt");
  Table answers{{"text", "label", "zero_shot", "supervised"}, {}};
  const std::vector<int64_t> truth = label_ids(test);
  int64_t zero_right = 0, supervised_right = 0;
  for (size_t i = 0; i < test.size(); ++i) {
    const std::string prompt = "Text: " + test[i].text + "\n" + question;
    size_t best = 0;
    double best_score = -INFINITY;
    for (size_t l = 0; l < labels.size(); ++l) {
      const double score = continuation_log_prob(lm, prompt, " " + labels[l]);
      if (score > best_score) best_score = score, best = l;
    }
    zero_right += static_cast<int64_t>(best) == truth[i];
    supervised_right += supervised[i] == truth[i];
    answers.add({test[i].text, test[i].label, labels[best], labels[supervised[i]]});
  }
  const auto accuracy = [&](int64_t right) {
    return static_cast<double>(right) / static_cast<double>(test.size());
  };
  fmt::print("Experiment 8: {} training / {} test examples of {}; prompt \"Text: ...\\n{}\"\n",
             train.size(), test.size(), path, question);
  Table summary{{"method", "accuracy", "trained_on"}, {}};
  summary.add({"zero-shot LM", cell(accuracy(zero_right), 3), "no labelled example"});
  summary.add({"TF-IDF + logistic regression", cell(accuracy(supervised_right), 3),
               fmt::format("{} labelled examples", train.size())});
  summary.print();
  out.write_csv("summary.csv", summary);
  out.write_csv("answers.csv", answers);
  out.plot("zero_shot", "zero_shot_vs_supervised.png");
}

}  // namespace

Experiment zero_shot_vs_supervised_experiment() {
  std::vector<Knob> knobs = {
      {"data", "label<TAB>text lines (default: course/data/sentiment.txt)", "", ""},
      {"prompt", "The question after the text", "Sentiment (positive or negative):", ""},
      {"steps", "Training steps of the logistic regression", "200", "50"},
      {"lr", "Its Adam learning rate", "0.1", ""}};
  for (Knob& k : language_model_knobs()) knobs.push_back(k);
  return {"zero-shot-vs-supervised", "Expérience 8: LLM zero-shot vs classifieur supervisé",
          "Prompted LM (zero-shot) vs TF-IDF + logistic regression on a small sentiment set", knobs,
          run};
}

}  // namespace kiln::course
