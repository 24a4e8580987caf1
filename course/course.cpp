#include "course/course.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "core/error.h"
#include "course/experiments.h"

namespace kiln::course {

Args::Args(std::string command, std::vector<Knob> knobs, std::map<std::string, std::string> given,
           bool quick)
    : op_("course " + command), quick_(quick) {
  for (const Knob& knob : knobs) {
    const auto it = given.find(knob.name);
    if (it != given.end())
      values_[knob.name] = it->second;
    else
      values_[knob.name] =
          quick && !knob.quick_value.empty() ? knob.quick_value : knob.default_value;
  }
  for (const auto& [name, value] : given)
    KILN_CHECK(values_.count(name) != 0, op_, "--{} is not an option of this command", name);
}

const std::string& Args::raw(const std::string& name) const {
  const auto it = values_.find(name);
  KILN_CHECK(it != values_.end(), op_, "internal: no knob --{}", name);
  return it->second;
}

namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    items.push_back(text.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return items;
}

bool parse_integer(const std::string& text, int64_t& value) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return ec == std::errc() && ptr == end && !text.empty();
}

bool parse_number(const std::string& text, double& value) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return ec == std::errc() && ptr == end && !text.empty() && std::isfinite(value);
}

}  // namespace

std::vector<int64_t> Args::integers(const std::string& name, int64_t min, int64_t max) const {
  std::vector<int64_t> out;
  for (const std::string& item : split_list(raw(name))) {
    int64_t value = 0;
    KILN_CHECK(parse_integer(item, value) && value >= min && value <= max, op_,
               "--{} {}: expected integers in [{}, {}], comma-separated", name, raw(name), min,
               max);
    out.push_back(value);
  }
  return out;
}

std::vector<double> Args::numbers(const std::string& name, double min, double max) const {
  std::vector<double> out;
  for (const std::string& item : split_list(raw(name))) {
    double value = 0;
    KILN_CHECK(parse_number(item, value) && value >= min && value <= max, op_,
               "--{} {}: expected numbers in [{}, {}], comma-separated", name, raw(name), min, max);
    out.push_back(value);
  }
  return out;
}

int64_t Args::integer(const std::string& name, int64_t min, int64_t max) const {
  int64_t value = 0;
  KILN_CHECK(parse_integer(raw(name), value) && value >= min && value <= max, op_,
             "--{} {}: expected an integer in [{}, {}]", name, raw(name), min, max);
  return value;
}

double Args::number(const std::string& name, double min, double max) const {
  double value = 0;
  KILN_CHECK(parse_number(raw(name), value) && value >= min && value <= max, op_,
             "--{} {}: expected a number in [{}, {}]", name, raw(name), min, max);
  return value;
}

std::string Args::text(const std::string& name) const {
  return raw(name);
}

const std::vector<Experiment>& experiments() {
  static const std::vector<Experiment> all = {
      mlp_experiment(),
      lstm_experiment(),
      ngram_experiment(),
      bpe_experiment(),
      embeddings_experiment(),
      attention_by_hand_experiment(),
      decoding_experiment(),
      learning_curves_experiment(),
      regularisation_experiment(),
      vanishing_gradient_experiment(),
      ngram_vs_gpt_experiment(),
      token_lengths_experiment(),
      attention_heads_experiment(),
      attention_cost_experiment(),
      zero_shot_vs_supervised_experiment(),
      temperature_entropy_experiment(),
      prompt_benchmark_experiment(),
  };
  return all;
}

const Experiment& find_experiment(const std::string& name) {
  std::vector<std::string> names;
  for (const Experiment& e : experiments()) {
    if (e.name == name) return e;
    names.push_back(e.name);
  }
  fail("course", "no experiment '{}' (experiments: {})", name, fmt::join(names, ", "));
}

}  // namespace kiln::course
