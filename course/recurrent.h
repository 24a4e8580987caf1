#pragma once
// What the recurrent demonstrations share: a layer of the kind a student names, and the
// parameters of several modules as one list for the optimizer.
#include <memory>
#include <string>
#include <vector>

#include "models/rnn.h"

namespace kiln::course {

// "rnn", "lstm" or "gru" (one layer, batch first); kiln::Error naming `op` otherwise.
std::unique_ptr<models::RecurrentLayer> make_recurrent(const std::string& kind, int64_t input,
                                                       int64_t hidden, Generator& gen,
                                                       const std::string& op);
// The kinds of a comma-separated list, each checked.
std::vector<std::string> recurrent_kinds(const std::string& list, const std::string& op);

// Every parameter of the modules, named "<i>.<name>" so that names stay distinct.
models::NamedTensors parameters_of(const std::vector<const models::Module*>& modules);

}  // namespace kiln::course
