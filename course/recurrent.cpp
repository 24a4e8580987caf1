#include "course/recurrent.h"

#include "core/error.h"

namespace kiln::course {

std::unique_ptr<models::RecurrentLayer> make_recurrent(const std::string& kind, int64_t input,
                                                       int64_t hidden, Generator& gen,
                                                       const std::string& op) {
  if (kind == "rnn") return std::make_unique<models::RNN>(input, hidden, gen);
  if (kind == "lstm") return std::make_unique<models::LSTM>(input, hidden, gen);
  if (kind == "gru") return std::make_unique<models::GRU>(input, hidden, gen);
  fail(op, "unknown recurrent network '{}', expected rnn, lstm or gru", kind);
}

std::vector<std::string> recurrent_kinds(const std::string& list, const std::string& op) {
  std::vector<std::string> kinds;
  size_t start = 0;
  while (true) {
    const size_t comma = list.find(',', start);
    kinds.push_back(list.substr(start, comma - start));
    KILN_CHECK(kinds.back() == "rnn" || kinds.back() == "lstm" || kinds.back() == "gru", op,
               "unknown recurrent network '{}', expected rnn, lstm or gru", kinds.back());
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return kinds;
}

models::NamedTensors parameters_of(const std::vector<const models::Module*>& modules) {
  models::NamedTensors all;
  for (size_t i = 0; i < modules.size(); ++i)
    for (auto& [name, tensor] : modules[i]->named_parameters())
      all.emplace_back(std::to_string(i) + "." + name, tensor);
  return all;
}

}  // namespace kiln::course
