// The synthetic tasks: their text (checked against arithmetic done here), the held-out split,
// batches, spec parsing, and evaluate_task on an untrained and a briefly trained model.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "core/ops.h"
#include "infer/generation.h"
#include "models/gpt.h"
#include "train/adamw.h"
#include "train/lr_schedule.h"
#include "train/synthetic.h"

namespace kiln::train {
namespace {

const std::vector<std::string> kSpecs = {"synthetic:addition:2", "synthetic:addition:3",
                                         "synthetic:addition:9", "synthetic:sort:4",
                                         "synthetic:sort:6",     "synthetic:sort:12"};

// The prompt and answer of a problem's text, checked for its shape.
Example split_problem(const std::string& text, const SyntheticTask& task) {
  EXPECT_EQ(static_cast<int64_t>(text.size()), task.problem_length()) << text;
  EXPECT_EQ(text.back(), '\n') << text;
  const auto prompt_end = static_cast<size_t>(task.prompt_length());
  return {text.substr(0, prompt_end), text.substr(prompt_end, text.size() - prompt_end - 1)};
}

// Recomputes the answer of a prompt from scratch: the reversed zero-padded sum, or the sorted
// digits.
std::string expected_answer(const std::string& prompt, bool addition) {
  if (!addition) {
    std::string digits = prompt.substr(0, prompt.size() - 1);
    std::sort(digits.begin(), digits.end());
    return digits;
  }
  const size_t plus = prompt.find('+');
  const unsigned long long sum =
      std::stoull(prompt.substr(0, plus)) + std::stoull(prompt.substr(plus + 1));
  std::string digits = std::to_string(sum);
  digits.insert(0, static_cast<size_t>(plus) + 1 - digits.size(), '0');
  std::reverse(digits.begin(), digits.end());
  return digits;
}

std::set<std::string> held_out_prompts(const SyntheticTask& task, int64_t count) {
  std::set<std::string> prompts;
  for (const Example& e : task.held_out(count)) prompts.insert(e.prompt);
  return prompts;
}

TEST(SyntheticTask, ProblemsAreCorrectAndTheTokenizerCoversThemExactly) {
  for (const std::string& spec : kSpecs) {
    SCOPED_TRACE(spec);
    const auto task = make_synthetic_task(spec);
    EXPECT_EQ(task->name(), spec);
    const bool addition = spec.find("addition") != std::string::npos;
    Generator gen(3);
    std::set<char32_t> used;
    for (int i = 0; i < 2000; ++i) {
      const std::string text = task->sample_text(gen);
      const Example e = split_problem(text, *task);
      EXPECT_EQ(e.answer, expected_answer(e.prompt, addition)) << text;
      EXPECT_EQ(static_cast<int64_t>(e.answer.size()), task->answer_length());
      // encode throws on a character outside the alphabet.
      const std::vector<int64_t> ids = task->tokenizer().encode(text);
      EXPECT_EQ(task->tokenizer().decode(ids), text);
      used.insert(text.begin(), text.end());
    }
    for (const Example& e : task->held_out(100)) {
      EXPECT_EQ(e.answer, expected_answer(e.prompt, addition));
      EXPECT_NO_THROW(task->tokenizer().encode(e.prompt + e.answer + "\n"));
    }
    // No character of the alphabet goes unused.
    const std::vector<char32_t>& alphabet = task->tokenizer().characters();
    EXPECT_EQ(std::set<char32_t>(alphabet.begin(), alphabet.end()), used);
  }
}

TEST(SyntheticTask, AdditionFormatIsTheReversedPaddedSum) {
  EXPECT_EQ(make_synthetic_task("synthetic:addition")->name(), "synthetic:addition:2");
  const auto task = make_synthetic_task("synthetic:addition:3");
  EXPECT_EQ(task->prompt_length(), 8);  // "053+471="
  EXPECT_EQ(task->answer_length(), 4);  // "4250": 524 reversed
  EXPECT_EQ(expected_answer("053+471=", true), "4250");
  EXPECT_EQ(expected_answer("999+999=", true), "8991");
  EXPECT_EQ(make_synthetic_task("synthetic:sort")->name(), "synthetic:sort:6");
}

TEST(SyntheticTask, HeldOutProblemsNeverAppearInTraining) {
  // Two digits: 10,000 problems, so 200,000 draws visit every training problem many times and
  // any leak of the ~500 held-out ones would show.
  const auto small = make_synthetic_task("synthetic:addition:2");
  const std::vector<Example> all_held_out = small->held_out(450);
  const std::set<std::string> held = held_out_prompts(*small, 450);
  EXPECT_EQ(held.size(), 450u);  // distinct
  std::set<std::string> trained;
  Generator gen(11);
  for (int i = 0; i < 200000; ++i) {
    const std::string text = small->sample_text(gen);
    trained.insert(text.substr(0, static_cast<size_t>(small->prompt_length())));
  }
  for (const std::string& prompt : trained) EXPECT_EQ(held.count(prompt), 0u) << prompt;
  // The split holds out about 1 in 20 and trains on everything else.
  EXPECT_GT(trained.size(), 9300u);
  EXPECT_LT(trained.size() + held.size(), 10001u);

  // The default task, through every way training text is produced.
  const auto task = make_synthetic_task("synthetic:addition:3");
  const std::set<std::string> held3 = held_out_prompts(*task, 5000);
  const int64_t length = task->problem_length();
  const std::string stream = task->tokenizer().decode(task->training_tokens(length * 50000, 5));
  for (size_t at = 0; at < stream.size(); at += static_cast<size_t>(length))
    ASSERT_EQ(held3.count(stream.substr(at, static_cast<size_t>(task->prompt_length()))), 0u);
  Generator batch_gen(6);
  const auto [x, y] = task->sample_batch(2000, length - 1, batch_gen);
  const std::vector<int64_t> ids = x.to_vector<int64_t>();
  for (int64_t row = 0; row < 2000; ++row) {
    const std::vector<int64_t> prompt(ids.begin() + row * (length - 1),
                                      ids.begin() + row * (length - 1) + task->prompt_length());
    ASSERT_EQ(held3.count(task->tokenizer().decode(prompt)), 0u);
  }
}

TEST(SyntheticTask, HeldOutIsFixedDistinctAndPrefixStable) {
  for (const char* spec : {"synthetic:addition:3", "synthetic:addition:9"}) {
    SCOPED_TRACE(spec);
    const auto task = make_synthetic_task(spec);
    const std::vector<Example> many = task->held_out(300);
    const std::vector<Example> few = make_synthetic_task(spec)->held_out(40);
    for (size_t i = 0; i < few.size(); ++i) {
      EXPECT_EQ(few[i].prompt, many[i].prompt);
      EXPECT_EQ(few[i].answer, many[i].answer);
    }
    EXPECT_EQ(held_out_prompts(*task, 300).size(), 300u);
    EXPECT_TRUE(task->held_out(0).empty());
  }
  // 10,000 sort problems hold out about 500: asking for more names the task and the count.
  const auto sort4 = make_synthetic_task("synthetic:sort:4");
  try {
    sort4->held_out(5000);
    FAIL() << "expected kiln::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("synthetic:sort:4"), std::string::npos) << e.what();
  }
  EXPECT_THROW(sort4->held_out(-1), Error);
}

TEST(SyntheticTask, TrainingTextIsDeterministicGivenTheSeed) {
  const auto task = make_synthetic_task("synthetic:sort:6");
  const std::vector<int64_t> a = task->training_tokens(1001, 42);
  EXPECT_EQ(a.size(), 1001u);
  EXPECT_EQ(a, task->training_tokens(1001, 42));
  EXPECT_NE(a, task->training_tokens(1001, 43));
  EXPECT_TRUE(task->training_tokens(0, 42).empty());

  Generator g1(9), g2(9);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(task->sample_text(g1), task->sample_text(g2));
  Generator b1(9), b2(9);
  const auto [x1, y1] = task->sample_batch(4, 30, b1);
  const auto [x2, y2] = task->sample_batch(4, 30, b2);
  EXPECT_EQ(x1.to_vector<int64_t>(), x2.to_vector<int64_t>());
  EXPECT_EQ(y1.to_vector<int64_t>(), y2.to_vector<int64_t>());
}

TEST(SyntheticTask, BatchesScoreOnlyAnswersAndStartAtProblems) {
  const auto task = make_synthetic_task("synthetic:addition:3");
  const CharTokenizer& tok = task->tokenizer();
  const int64_t length = task->problem_length();  // 13
  // Two and a half problems per row: rows run across problem boundaries.
  const int64_t block = 2 * length + 6;
  Generator gen(1);
  const auto [x, y] = task->sample_batch(3, block, gen);
  ASSERT_EQ(x.shape(), (Shape{3, block}));
  ASSERT_EQ(y.shape(), (Shape{3, block}));
  ASSERT_EQ(x.dtype(), DType::i64);
  ASSERT_EQ(y.dtype(), DType::i64);
  const std::vector<int64_t> xs = x.to_vector<int64_t>(), ys = y.to_vector<int64_t>();
  for (int64_t row = 0; row < 3; ++row) {
    const std::vector<int64_t> ids(xs.begin() + row * block, xs.begin() + (row + 1) * block);
    const std::string text = tok.decode(ids);
    // Whole problems from the first position.
    for (int64_t p = 0; p < 2; ++p) {
      const Example e = split_problem(text.substr(p * length, length), *task);
      EXPECT_EQ(e.answer, expected_answer(e.prompt, true));
    }
    for (int64_t t = 0; t < block; ++t) {
      const int64_t target = ys[static_cast<size_t>(row * block + t)];
      const int64_t in_problem = (t + 1) % length;  // the target's place in its problem
      if (in_problem < task->prompt_length()) {
        EXPECT_EQ(target, -100) << "row " << row << " position " << t;
      } else if (t + 1 < block) {
        EXPECT_EQ(target, ids[static_cast<size_t>(t + 1)]) << "row " << row << " position " << t;
      }
    }
  }
  EXPECT_THROW(task->sample_batch(0, 12, gen), Error);
  EXPECT_THROW(task->sample_batch(2, 0, gen), Error);
}

TEST(SyntheticTask, HeldOutBatchLaysOutTheHeldOutProblemsInOrder) {
  const auto task = make_synthetic_task("synthetic:sort:6");
  const int64_t length = task->problem_length();  // 14
  const int64_t block = length + 3;               // two problems per row
  const auto [x, y] = task->held_out_batch(5, block);
  ASSERT_EQ(x.shape(), (Shape{5, block}));
  const std::vector<Example> held = task->held_out(10);
  const std::vector<int64_t> xs = x.to_vector<int64_t>(), ys = y.to_vector<int64_t>();
  for (int64_t row = 0; row < 5; ++row) {
    const std::string text = task->tokenizer().decode(
        std::vector<int64_t>(xs.begin() + row * block, xs.begin() + (row + 1) * block));
    const Example& first = held[static_cast<size_t>(2 * row)];
    const Example& second = held[static_cast<size_t>(2 * row + 1)];
    EXPECT_EQ(text, (first.prompt + first.answer + "\n" + second.prompt).substr(0, block));
    // The targets inside the first problem: its answer and '\n' after the prompt, nothing
    // before.
    const std::vector<int64_t> row_targets(ys.begin() + row * block,
                                           ys.begin() + row * block + length - 1);
    const std::vector<int64_t> answer = task->tokenizer().encode(first.answer + "\n");
    for (int64_t t = 0; t + 1 < length; ++t) {
      const int64_t expected = t + 1 < task->prompt_length()
                                   ? -100
                                   : answer[static_cast<size_t>(t + 1 - task->prompt_length())];
      EXPECT_EQ(row_targets[static_cast<size_t>(t)], expected)
          << "row " << row << " position " << t;
    }
  }
  const auto again = task->held_out_batch(5, block);
  EXPECT_EQ(again.first.to_vector<int64_t>(), xs);
  EXPECT_THROW(task->held_out_batch(0, block), Error);
}

TEST(SyntheticTask, SpecErrorsListTheValidTasks) {
  for (const char* bad :
       {"synthetic:multiply", "synthetic:", "addition", "", "synthetic:addition:1",
        "synthetic:addition:10", "synthetic:addition:x", "synthetic:addition:3x",
        "synthetic:addition:", "synthetic:sort:3", "synthetic:sort:13", "synthetic:sort:-4"}) {
    SCOPED_TRACE(bad);
    try {
      make_synthetic_task(bad);
      FAIL() << "expected kiln::Error";
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("[synthetic]"), std::string::npos) << message;
      EXPECT_NE(message.find("synthetic:addition"), std::string::npos) << message;
      EXPECT_NE(message.find("synthetic:sort"), std::string::npos) << message;
    }
  }
}

models::GPTConfig tiny_config(const SyntheticTask& task) {
  models::GPTConfig c;
  c.vocab_size = task.tokenizer().vocab_size();
  c.block_size = task.problem_length();
  c.n_layer = 1;
  c.n_head = 4;
  c.n_embd = 64;
  c.seed = 5;
  return c;
}

// Trains tiny_config on batches of one problem per row; returns the model and the last loss.
std::pair<std::unique_ptr<models::GPT>, double> train_tiny(const SyntheticTask& task,
                                                           int64_t steps) {
  auto model = std::make_unique<models::GPT>(tiny_config(task));
  AdamW optimizer(model->named_parameters(), AdamWOptions{6e-3, 0.9, 0.95, 1e-8, 0.1});
  const LrSchedule schedule{ScheduleKind::cosine,         6e-3,  6e-4,
                            std::min<int64_t>(30, steps), steps, 0.2};
  Generator gen(7);
  double last_loss = 0;
  for (int64_t step = 0; step < steps; ++step) {
    const auto [x, y] = task.sample_batch(64, task.problem_length() - 1, gen);
    Tensor loss = cross_entropy(model->forward(x), y);
    optimizer.zero_grad();
    loss.backward();
    optimizer.set_lr(schedule.at(step));
    optimizer.step();
    last_loss = loss.item();
  }
  return {std::move(model), last_loss};
}

TEST(SyntheticTask, EvaluateScoresAnUntrainedModelLow) {
  const auto task = make_synthetic_task("synthetic:addition:2");
  models::GPT model(tiny_config(*task));
  const TaskAccuracy result = evaluate_task(model, *task, 200, infer::greedy_generate, 3);
  EXPECT_EQ(result.total, 200);
  EXPECT_LT(result.correct, 10);
  EXPECT_DOUBLE_EQ(result.accuracy, result.correct / 200.0);
  ASSERT_EQ(result.samples.size(), 3u);
  const std::vector<Example> held = task->held_out(3);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(result.samples[i].prompt, held[i].prompt);
    EXPECT_EQ(result.samples[i].expected, held[i].answer);
    EXPECT_EQ(result.samples[i].correct, result.samples[i].got == held[i].answer);
  }
  EXPECT_TRUE(model.training());  // the mode is restored
  EXPECT_THROW(evaluate_task(model, *task, 0, infer::greedy_generate), Error);
}

// 400 steps of a one-layer model on two-digit addition (a few seconds): held-out accuracy must
// rise far above chance (it reaches about 95-100% with this recipe; an untrained model scores
// about 0).
TEST(SyntheticTask, EvaluateSeesTrainingWork) {
  const auto task = make_synthetic_task("synthetic:addition:2");
  const auto [model, loss] = train_tiny(*task, 400);
  const TaskAccuracy result = evaluate_task(*model, *task, 200, infer::greedy_generate);
  EXPECT_GT(result.accuracy, 0.3) << result.correct << " of " << result.total;
  EXPECT_LT(loss, 0.5);
}

TEST(SyntheticTask, TrainingIsDeterministicGivenTheSeeds) {
  const auto task = make_synthetic_task("synthetic:addition:2");
  const auto [a, loss_a] = train_tiny(*task, 25);
  const auto [b, loss_b] = train_tiny(*task, 25);
  EXPECT_EQ(loss_a, loss_b);
  const TaskAccuracy ra = evaluate_task(*a, *task, 100, infer::greedy_generate, 100);
  const TaskAccuracy rb = evaluate_task(*b, *task, 100, infer::greedy_generate, 100);
  for (size_t i = 0; i < ra.samples.size(); ++i) EXPECT_EQ(ra.samples[i].got, rb.samples[i].got);
}

}  // namespace
}  // namespace kiln::train
