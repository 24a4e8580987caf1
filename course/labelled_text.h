#pragma once
// The labelled sets of Experiments 8 and 10 (course/data/*.txt: "label<TAB>text" lines), and how
// a language model chooses between labels: the label whose tokens, appended to the prompt, it
// finds most likely.
#include <string>
#include <vector>

#include "course/language_model.h"

namespace kiln::course {

struct LabelledText {
  std::string label;
  std::string text;
};

// "label<TAB>text" lines; '#' lines are comments. Errors name the file and line.
std::vector<LabelledText> read_labelled(const std::string& path, const std::string& op);

// Σ log P(continuation tokens | prompt) under the model.
double continuation_log_prob(LanguageModel& lm, const std::string& prompt,
                             const std::string& continuation);

}  // namespace kiln::course
