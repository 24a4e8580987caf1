#include "train/synthetic.h"

#include <algorithm>
#include <charconv>
#include <unordered_set>

#include "core/error.h"
#include "kernels/philox.h"

namespace kiln::train {
namespace {

constexpr const char* kOp = "synthetic";
constexpr uint64_t kHeldOutEvery = 20;
// Fixed for ever: changing either changes which problems are held out.
constexpr uint64_t kSplitSalt = 0x6B696C6E53504C54ull;
constexpr uint64_t kHeldOutSeed = 0x6B696C6E4556414Cull;
// Below this many problems the held-out part is listed and shuffled; above, drawn at random.
constexpr uint64_t kEnumerateLimit = 1ull << 21;
constexpr int64_t kIgnore = -100;

// splitmix64's finaliser: every input bit moves every output bit.
uint64_t mix(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Uniform in [0, n) from one Philox counter of `gen`; the modulo bias is below n / 2^64.
uint64_t uniform_below(Generator& gen, uint64_t n) {
  const kernels::PhiloxOutput r = kernels::philox4x32(gen.seed(), gen.advance(1));
  const uint64_t bits = (static_cast<uint64_t>(r.v[0]) << 32) | r.v[1];
  return bits % n;
}

uint64_t power_of_ten(int64_t exponent) {
  uint64_t p = 1;
  for (int64_t i = 0; i < exponent; ++i) p *= 10;
  return p;
}

std::string zero_padded(uint64_t value, int64_t width) {
  std::string digits(static_cast<size_t>(width), '0');
  for (int64_t i = width - 1; i >= 0 && value > 0; --i, value /= 10)
    digits[static_cast<size_t>(i)] = static_cast<char>('0' + value % 10);
  return digits;
}

CharTokenizer alphabet(std::string_view characters) {
  std::vector<char32_t> codes(characters.begin(), characters.end());
  std::sort(codes.begin(), codes.end());
  return CharTokenizer(std::move(codes));
}

// a + b with D-digit operands; the sum is reversed so that the model writes the digit that
// depends only on the lowest digits first, then each next one from the carry it just wrote.
class AdditionTask final : public SyntheticTask {
 public:
  explicit AdditionTask(int64_t digits)
      : SyntheticTask(alphabet("\n+0123456789="), 2 * digits + 2, digits + 1),
        digits_(digits),
        modulus_(power_of_ten(digits)) {}

  std::string name() const override { return fmt::format("synthetic:addition:{}", digits_); }

 protected:
  uint64_t problem_count() const override { return modulus_ * modulus_; }
  Example problem(uint64_t index) const override {
    const uint64_t a = index / modulus_, b = index % modulus_;
    std::string sum = zero_padded(a + b, digits_ + 1);
    std::reverse(sum.begin(), sum.end());
    return {zero_padded(a, digits_) + "+" + zero_padded(b, digits_) + "=", std::move(sum)};
  }

 private:
  int64_t digits_;
  uint64_t modulus_;
};

class SortTask final : public SyntheticTask {
 public:
  explicit SortTask(int64_t length)
      : SyntheticTask(alphabet("\n0123456789="), length + 1, length),
        length_(length),
        count_(power_of_ten(length)) {}

  std::string name() const override { return fmt::format("synthetic:sort:{}", length_); }

 protected:
  uint64_t problem_count() const override { return count_; }
  Example problem(uint64_t index) const override {
    const std::string digits = zero_padded(index, length_);
    std::string sorted = digits;
    std::sort(sorted.begin(), sorted.end());
    return {digits + "=", std::move(sorted)};
  }

 private:
  int64_t length_;
  uint64_t count_;
};

constexpr const char* kValidSpecs =
    "synthetic:addition[:digits 2-9] (default 2), synthetic:sort[:length 4-12] (default 6)";

void check_batch_shape(int64_t batch, int64_t block) {
  KILN_CHECK(batch >= 1 && block >= 1, kOp,
             "batch and block must be >= 1, got batch {} and block {}", batch, block);
}

int64_t parse_size(std::string_view spec, std::string_view text, int64_t low, int64_t high) {
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  KILN_CHECK(
      error == std::errc() && end == text.data() + text.size() && value >= low && value <= high,
      kOp, "'{}': '{}' is not a number in [{}, {}]; valid tasks: {}", spec, text, low, high,
      kValidSpecs);
  return value;
}

}  // namespace

SyntheticTask::SyntheticTask(CharTokenizer tokenizer, int64_t prompt_length, int64_t answer_length)
    : tokenizer_(std::move(tokenizer)),
      prompt_length_(prompt_length),
      answer_length_(answer_length) {}

int64_t SyntheticTask::problem_length() const {
  return prompt_length_ + answer_length_ + 1;
}
int64_t SyntheticTask::prompt_length() const {
  return prompt_length_;
}
int64_t SyntheticTask::answer_length() const {
  return answer_length_;
}

bool SyntheticTask::is_held_out(uint64_t index) const {
  return mix(index ^ kSplitSalt) % kHeldOutEvery == 0;
}

uint64_t SyntheticTask::draw_training_index(Generator& gen) const {
  for (;;) {
    const uint64_t index = uniform_below(gen, problem_count());
    if (!is_held_out(index)) return index;
  }
}

std::string SyntheticTask::sample_text(Generator& gen) const {
  Example example = problem(draw_training_index(gen));
  return example.prompt + example.answer + "\n";
}

std::vector<Example> SyntheticTask::held_out(int64_t count) const {
  KILN_CHECK(count >= 0, kOp, "held_out: count must be >= 0, got {}", count);
  const uint64_t n = problem_count();
  Generator gen(kHeldOutSeed);
  std::vector<uint64_t> chosen;
  if (n <= kEnumerateLimit) {
    for (uint64_t i = 0; i < n; ++i)
      if (is_held_out(i)) chosen.push_back(i);
    KILN_CHECK(static_cast<uint64_t>(count) <= chosen.size(), kOp,
               "{} has {} held-out problems, {} were asked for", name(), chosen.size(), count);
    // A partial Fisher-Yates shuffle: its first k picks do not depend on how many follow.
    for (size_t i = 0; i < static_cast<size_t>(count); ++i)
      std::swap(chosen[i], chosen[i + uniform_below(gen, chosen.size() - i)]);
    chosen.resize(static_cast<size_t>(count));
  } else {
    // Drawing distinct ones slows down as they run out: stay well inside the N / 20 there are.
    const uint64_t limit = n / (2 * kHeldOutEvery);
    KILN_CHECK(static_cast<uint64_t>(count) <= limit, kOp,
               "{}: at most {} held-out problems can be drawn, {} were asked for", name(), limit,
               count);
    std::unordered_set<uint64_t> seen;
    while (chosen.size() < static_cast<size_t>(count)) {
      const uint64_t index = uniform_below(gen, n);
      if (is_held_out(index) && seen.insert(index).second) chosen.push_back(index);
    }
  }
  std::vector<Example> examples;
  examples.reserve(chosen.size());
  for (const uint64_t index : chosen) examples.push_back(problem(index));
  return examples;
}

std::vector<int64_t> SyntheticTask::training_tokens(int64_t count, uint64_t seed) const {
  KILN_CHECK(count >= 0, kOp, "training_tokens: count must be >= 0, got {}", count);
  Generator gen(seed);
  std::vector<int64_t> tokens;
  tokens.reserve(static_cast<size_t>(count + problem_length()));
  while (static_cast<int64_t>(tokens.size()) < count) {
    const std::vector<int64_t> ids = tokenizer_.encode(sample_text(gen));
    tokens.insert(tokens.end(), ids.begin(), ids.end());
  }
  tokens.resize(static_cast<size_t>(count));
  return tokens;
}

int64_t SyntheticTask::problems_per_row(int64_t block) const {
  return (block + 1 + problem_length() - 1) / problem_length();
}

std::pair<Tensor, Tensor> SyntheticTask::pack_rows(
    int64_t batch, int64_t block, const std::function<std::string()>& next_text) const {
  const int64_t length = problem_length();
  std::vector<int64_t> inputs, targets;
  inputs.reserve(static_cast<size_t>(batch * block));
  targets.reserve(static_cast<size_t>(batch * block));
  std::vector<int64_t> row;
  for (int64_t b = 0; b < batch; ++b) {
    row.clear();
    for (int64_t p = 0; p < problems_per_row(block); ++p) {
      const std::vector<int64_t> ids = tokenizer_.encode(next_text());
      row.insert(row.end(), ids.begin(), ids.end());
    }
    for (int64_t t = 0; t < block; ++t) {
      inputs.push_back(row[static_cast<size_t>(t)]);
      const bool is_answer = (t + 1) % length >= prompt_length_;
      targets.push_back(is_answer ? row[static_cast<size_t>(t + 1)] : kIgnore);
    }
  }
  return {from_vector(inputs, {batch, block}), from_vector(targets, {batch, block})};
}

std::pair<Tensor, Tensor> SyntheticTask::sample_batch(int64_t batch, int64_t block,
                                                      Generator& gen) const {
  check_batch_shape(batch, block);
  return pack_rows(batch, block, [&] { return sample_text(gen); });
}

std::pair<Tensor, Tensor> SyntheticTask::held_out_batch(int64_t batch, int64_t block) const {
  check_batch_shape(batch, block);
  const std::vector<Example> examples = held_out(batch * problems_per_row(block));
  size_t next = 0;
  return pack_rows(batch, block, [&] {
    const Example& e = examples[next++];
    return e.prompt + e.answer + "\n";
  });
}

std::unique_ptr<SyntheticTask> make_synthetic_task(std::string_view spec) {
  std::string_view rest = spec;
  constexpr std::string_view kPrefix = "synthetic:";
  KILN_CHECK(rest.starts_with(kPrefix), kOp, "'{}' is not a synthetic task; valid tasks: {}", spec,
             kValidSpecs);
  rest.remove_prefix(kPrefix.size());
  const size_t colon = rest.find(':');
  const std::string_view task = rest.substr(0, colon);
  const bool sized = colon != std::string_view::npos;
  const std::string_view size = sized ? rest.substr(colon + 1) : "";
  if (task == "addition")
    return std::make_unique<AdditionTask>(sized ? parse_size(spec, size, 2, 9) : 2);
  if (task == "sort") return std::make_unique<SortTask>(sized ? parse_size(spec, size, 4, 12) : 6);
  fail(kOp, "unknown task '{}'; valid tasks: {}", spec, kValidSpecs);
}

TaskAccuracy evaluate_task(models::CausalLM& model, const SyntheticTask& task, int64_t count,
                           const GreedyDecoder& decode, int64_t sample_count) {
  KILN_CHECK(count >= 1, kOp, "evaluate_task: count must be >= 1, got {}", count);
  KILN_CHECK(decode != nullptr, kOp, "evaluate_task: no decoder given");
  const CharTokenizer& tokenizer = task.tokenizer();
  const std::vector<Example> examples = task.held_out(count);
  std::vector<std::vector<int64_t>> prompts;
  prompts.reserve(examples.size());
  for (const Example& example : examples) prompts.push_back(tokenizer.encode(example.prompt));

  const int64_t newline = *tokenizer.token_to_id("\n");
  const bool was_training = model.training();
  const std::vector<std::vector<int64_t>> outputs =
      decode(model, prompts, task.answer_length() + 1, newline);
  model.train(was_training);

  TaskAccuracy result;
  result.total = count;
  for (size_t i = 0; i < examples.size(); ++i) {
    std::vector<int64_t> ids = outputs[i];
    const bool ended = !ids.empty() && ids.back() == newline;
    if (ended) ids.pop_back();
    // A model larger than the task's vocabulary may write ids the tokenizer does not have.
    std::string got;
    for (const int64_t id : ids)
      got += id < tokenizer.vocab_size() ? tokenizer.id_to_token(id) : "\xEF\xBF\xBD";
    const bool correct = ended && got == examples[i].answer;
    result.correct += correct ? 1 : 0;
    if (static_cast<int64_t>(result.samples.size()) < sample_count)
      result.samples.push_back({examples[i].prompt, examples[i].answer, got, correct});
  }
  result.accuracy = static_cast<double>(result.correct) / static_cast<double>(result.total);
  return result;
}

}  // namespace kiln::train
