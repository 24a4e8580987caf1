#pragma once
// The language model the LM experiments use: a Hugging Face GPT-2 directory when the user has
// one (--model DIR, e.g. the real gpt2), otherwise a small GPT trained here on --corpus, once:
// the trained model is cached under --cache, keyed by the corpus's contents and the training
// settings, and reused by every later run (each run says which it did).
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "course/course.h"
#include "models/gpt.h"
#include "text/tokenizer.h"

namespace kiln::course {

struct LanguageModel {
  std::unique_ptr<models::GPT> model;
  std::unique_ptr<Tokenizer> tokenizer;
  std::string description;  // what it is and where it came from
};

// The knobs every LM experiment takes: model, corpus, cache, lm-steps.
std::vector<Knob> language_model_knobs();

// Loads --model, or trains (or reuses) the small GPT of --corpus.
LanguageModel language_model(const Args& args);

// Log-softmax of the next-token logits after `ids`, as doubles.
std::vector<double> next_token_log_probs(models::GPT& model, const std::vector<int64_t>& ids);

}  // namespace kiln::course
