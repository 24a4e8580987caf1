// Experiment 10: the same 20 inputs under three prompt styles (zero-shot, few-shot, structured
// JSON), each answer generated greedily and scored by a stated rule: 2 when the answer names
// the right label and not the other, 1 when it names both, 0 otherwise. The mean score per
// style is the benchmark.
#include <fmt/core.h>

#include <algorithm>
#include <cctype>

#include "course/experiments.h"
#include "course/labelled_text.h"
#include "infer/generation.h"

namespace kiln::course {
namespace {

struct Style {
  std::string name;
  std::string before;  // the prompt is before + text + after
  std::string after;
};

std::vector<Style> styles() {
  return {
      {"zero-shot", "Is this review positive or negative?\nReview: ", "\nAnswer:"},
      {"few-shot",
       "Review: I loved every minute of it.\nAnswer: positive\n\nReview: It was cold and "
       "boring.\nAnswer: negative\n\nReview: ",
       "\nAnswer:"},
      {"structured",
       "Classify the review. Reply in JSON: {\"sentiment\": \"positive\"} or {\"sentiment\": "
       "\"negative\"}.\nReview: ",
       "\nJSON:"},
  };
}

bool mentions(const std::string& answer, const std::string& label) {
  std::string lower = answer;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower.find(label) != std::string::npos;
}

// 2: the right label only; 1: both labels; 0: not the right one.
int score(const std::string& answer, const std::string& right,
          const std::vector<std::string>& labels) {
  if (!mentions(answer, right)) return 0;
  for (const std::string& l : labels)
    if (l != right && mentions(answer, l)) return 1;
  return 2;
}

void run(const Args& args, Output& out) {
  const std::string path =
      args.text("data").empty() ? course_data("prompt_benchmark.txt").string() : args.text("data");
  std::vector<LabelledText> inputs = read_labelled(path, args.op());
  inputs.resize(
      std::min<size_t>(inputs.size(), static_cast<size_t>(args.integer("inputs", 1, 100000))));
  std::vector<std::string> labels;
  for (const auto& e : inputs)
    if (std::find(labels.begin(), labels.end(), e.label) == labels.end()) labels.push_back(e.label);
  const int64_t length = args.integer("length", 1, 200);
  LanguageModel lm = language_model(args);

  Table answers{{"style", "text", "label", "answer", "score"}, {}};
  Table summary{{"prompt", "mean_score", "score_2", "score_1", "score_0"}, {}};
  int64_t cropped = 0;
  for (const Style& style : styles()) {
    int counts[3] = {0, 0, 0};
    for (const LabelledText& e : inputs) {
      infer::GenerationOptions g;
      g.max_new_tokens = length;
      g.sampling.greedy = true;
      std::vector<int64_t> ids = lm.tokenizer->encode(style.before + e.text + style.after);
      // A small model's context may be shorter than a few-shot prompt: keep its end.
      const int64_t room = lm.model->config().block_size - length;
      KILN_CHECK(room > 0, args.op(), "--length {} leaves no room for a prompt in a context of {}",
                 length, lm.model->config().block_size);
      if (static_cast<int64_t>(ids.size()) > room) {
        ids.erase(ids.begin(), ids.end() - room);
        ++cropped;
      }
      std::string answer = lm.tokenizer->decode(infer::generate(*lm.model, {ids}, g)[0]);
      for (char& c : answer)
        if (c == '\n' || c == '\r') c = ' ';
      const int s = score(answer, e.label, labels);
      ++counts[s];
      answers.add({style.name, e.text, e.label, answer, std::to_string(s)});
    }
    const double mean = (2.0 * counts[2] + counts[1]) / static_cast<double>(inputs.size());
    summary.add({style.name, cell(mean, 3), std::to_string(counts[2]), std::to_string(counts[1]),
                 std::to_string(counts[0])});
  }
  fmt::print(
      "Experiment 10: {} inputs of {}, greedy answers of up to {} tokens; score 2 = names "
      "the right label only, 1 = names both, 0 = not the right one\n",
      inputs.size(), path, length);
  if (cropped > 0)
    fmt::print("{} prompts were longer than the model's context and kept only their last tokens\n",
               cropped);
  summary.print();
  out.write_csv("summary.csv", summary);
  out.write_csv("answers.csv", answers);
  out.plot("prompt_benchmark", "prompt_benchmark.png");
}

}  // namespace

Experiment prompt_benchmark_experiment() {
  std::vector<Knob> knobs = {
      {"data", "label<TAB>text lines (default: course/data/prompt_benchmark.txt)", "", ""},
      {"inputs", "How many of its lines to use", "20", "4"},
      {"length", "Tokens of each answer", "8", "4"}};
  for (Knob& k : language_model_knobs()) knobs.push_back(k);
  return {"prompt-benchmark", "Expérience 10: petit benchmark de prompts",
          "20 inputs under zero-shot, few-shot and structured prompts, scored 0/1/2", knobs, run};
}

}  // namespace kiln::course
