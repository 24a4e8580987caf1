#pragma once
// The course's demonstrations and experiments as a library: each one is an Experiment (a name,
// the slide section it illustrates, the knobs students vary, and a function that prints its
// table and writes its CSV and PNG). `kiln course NAME` is a thin front end over this list.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "course/output.h"

namespace kiln::course {

// One option, `--name VALUE`. `quick_value` replaces `default_value` under --quick (the
// reduced run the tests use); empty: the same as the default.
struct Knob {
  std::string name;
  std::string help;
  std::string default_value;
  std::string quick_value;
};

// The values given for an experiment's knobs, read with a type and a range. A value that does
// not parse or is out of range is a kiln::Error naming the option and what it expects.
class Args {
 public:
  Args(std::string command, std::vector<Knob> knobs, std::map<std::string, std::string> given,
       bool quick);

  int64_t integer(const std::string& name, int64_t min, int64_t max) const;
  double number(const std::string& name, double min, double max) const;
  std::string text(const std::string& name) const;
  // Comma-separated lists: "100,500,1000".
  std::vector<int64_t> integers(const std::string& name, int64_t min, int64_t max) const;
  std::vector<double> numbers(const std::string& name, double min, double max) const;
  bool quick() const { return quick_; }
  // "course NAME", the prefix of error messages.
  const std::string& op() const { return op_; }

 private:
  const std::string& raw(const std::string& name) const;
  std::string op_;
  std::map<std::string, std::string> values_;
  bool quick_;
};

struct Experiment {
  std::string name;     // the word after `kiln course`
  std::string slide;    // the slide section or experiment number it belongs to
  std::string summary;  // one line for `kiln course list`
  std::vector<Knob> knobs;
  std::function<void(const Args&, Output&)> run;
};

// Every demonstration and experiment, in the order of the slides.
const std::vector<Experiment>& experiments();
// The experiment called `name`; kiln::Error listing the names when there is none.
const Experiment& find_experiment(const std::string& name);

}  // namespace kiln::course
