#pragma once
// kiln's built-in synthetic tasks: problems generated on the fly, with answers a small GPT can
// learn on a CPU in minutes, and exact-match accuracy on held-out problems as the measure of
// what it learnt. They are `kiln train`'s default data ("synthetic:addition") and `make demo`'s.
//
// Every task numbers its problems 0 .. problem_count() - 1 and splits them once and for all by
// a hash of that number: 1 in 20 is held out, the rest are for training. Training draws reject
// held-out problems, so no held-out prompt is ever trained on, whatever the seeds.
// Every problem of a task has the same length, so rows of a batch start and end at the same
// positions and evaluation runs every prompt in one generation batch. See docs/synthetic.md.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/random.h"
#include "core/tensor.h"
#include "models/causal_lm.h"
#include "text/char_tokenizer.h"

namespace kiln::train {

// One problem: the model sees `prompt` and must write `answer` then '\n'.
struct Example {
  std::string prompt;
  std::string answer;
};

class SyntheticTask {
 public:
  virtual ~SyntheticTask() = default;

  // The spec that makes this task again: "synthetic:addition:3".
  virtual std::string name() const = 0;
  // A fixed alphabet covering every character the task writes ('\n' included).
  const CharTokenizer& tokenizer() const { return tokenizer_; }
  // Characters of one problem: prompt + answer + '\n'.
  int64_t problem_length() const;
  int64_t prompt_length() const;
  int64_t answer_length() const;

  // One training problem as text, "123+456=9750\n".
  std::string sample_text(Generator& gen) const;
  // `count` distinct held-out problems, the same ones on every call (a fixed generator; the
  // first k of held_out(n) are held_out(k)). Throws when the held-out part has fewer.
  std::vector<Example> held_out(int64_t count) const;
  // Exactly `count` tokens of training problems laid end to end, from a generator seeded with
  // `seed`: a stream for a plain next-token data loader.
  std::vector<int64_t> training_tokens(int64_t count, uint64_t seed) const;
  // A batch for next-token training that fits the task better than random windows of a stream:
  // each row is whole training problems from its first position (so positions line up with
  // those of evaluation prompts), inputs [batch, block] and targets [batch, block] (i64) the
  // same tokens shifted by one, with every target that is a prompt character set to -100
  // (cross_entropy's ignore_index): the loss counts only what can be predicted, the answers.
  std::pair<Tensor, Tensor> sample_batch(int64_t batch, int64_t block, Generator& gen) const;
  // The same layout filled with the first held-out problems, in held_out() order: a fixed
  // validation batch whose loss, like the training loss, counts only the answers.
  std::pair<Tensor, Tensor> held_out_batch(int64_t batch, int64_t block) const;

 protected:
  SyntheticTask(CharTokenizer tokenizer, int64_t prompt_length, int64_t answer_length);

  // The problem space, numbered; problem(i) must have the lengths given to the constructor.
  virtual uint64_t problem_count() const = 0;
  virtual Example problem(uint64_t index) const = 0;

 private:
  bool is_held_out(uint64_t index) const;
  // Rows of `block` + 1 tokens made of whole problems from `next_text`, cut into inputs and
  // masked targets.
  std::pair<Tensor, Tensor> pack_rows(int64_t batch, int64_t block,
                                      const std::function<std::string()>& next_text) const;
  int64_t problems_per_row(int64_t block) const;
  uint64_t draw_training_index(Generator& gen) const;

  CharTokenizer tokenizer_;
  int64_t prompt_length_;
  int64_t answer_length_;
};

// Parses a task spec:
//   synthetic:addition[:D]  a+b with two D-digit operands (default 2, 2..9), zero-padded;
//                           the answer is the D+1-digit sum written in reverse, least
//                           significant digit first: "053+471=4250" is 53 + 471 = 524.
//   synthetic:sort[:N]      N digits (default 6, 4..12) and the same digits in increasing
//                           order: "381920=012389".
// Anything else throws kiln::Error listing these.
std::unique_ptr<SyntheticTask> make_synthetic_task(std::string_view spec);

struct TaskSample {
  std::string prompt;
  std::string expected;
  std::string got;  // what the model wrote before '\n' (or all it wrote, without one)
  bool correct = false;
};

struct TaskAccuracy {
  int64_t correct = 0;
  int64_t total = 0;
  double accuracy = 0.0;
  std::vector<TaskSample> samples;  // the first few held-out problems, for printing
};

// Greedy continuations of equally long prompts: up to `max_new_tokens` new ids of each,
// ending early after `stop_id` (included). The trainer cannot call infer/ (a sibling layer), so
// its caller passes this in: `kiln train` passes infer::greedy_generate.
using GreedyDecoder = std::function<std::vector<std::vector<int64_t>>(
    models::CausalLM& model, const std::vector<std::vector<int64_t>>& prompts, int64_t max_new_tokens,
    int64_t stop_id)>;

// Exact-match accuracy on the first `count` held-out problems: each prompt is continued by
// `decode` (all in one batch) until '\n' or answer_length() + 1 tokens; an answer counts when
// it is exactly the expected one followed by '\n'. The model's mode is restored afterwards.
TaskAccuracy evaluate_task(models::CausalLM& model, const SyntheticTask& task, int64_t count,
                           const GreedyDecoder& decode, int64_t sample_count = 4);

}  // namespace kiln::train
