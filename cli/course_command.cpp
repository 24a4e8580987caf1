// kiln course NAME: the course's demonstrations and experiments (course/course.h), one
// subcommand each with the knobs the experiment declares, and `kiln course list`.
#include <fmt/core.h>

#include <map>
#include <memory>

#include "cli/commands.h"
#include "course/course.h"

namespace kiln::cli {

void add_course_command(CLI::App& app) {
  CLI::App* group = app.add_subcommand(
      "course", "The course's demonstrations and experiments, one command each (kiln course list)");
  group->require_subcommand(1);

  CLI::App* list = group->add_subcommand("list", "List the demonstrations and experiments");
  list->callback([] {
    course::Table table{{"command", "slides", "what it shows"}, {}};
    for (const course::Experiment& e : course::experiments())
      table.add({e.name, e.slide, e.summary});
    table.print();
  });

  for (const course::Experiment& experiment : course::experiments()) {
    struct Options {
      std::string out;
      bool quick = false;
      bool no_plot = false;
      std::map<std::string, std::string> values;
      std::vector<std::pair<std::string, CLI::Option*>> knobs;
    };
    auto options = std::make_shared<Options>();
    options->out = "out/course/" + experiment.name;
    CLI::App* cmd = group->add_subcommand(experiment.name, experiment.summary);
    cmd->add_option("--out", options->out, "Folder for the CSV and PNG files")
        ->capture_default_str();
    cmd->add_flag("--quick", options->quick, "A reduced run (seconds): what the tests run");
    cmd->add_flag("--no-plot", options->no_plot, "Write the CSV files only");
    for (const course::Knob& knob : experiment.knobs) {
      CLI::Option* opt = cmd->add_option("--" + knob.name, options->values[knob.name], knob.help);
      opt->default_str(knob.default_value);
      options->knobs.emplace_back(knob.name, opt);
    }
    const std::string name = experiment.name;
    cmd->callback([options, name] {
      const course::Experiment& e = course::find_experiment(name);
      std::map<std::string, std::string> given;
      for (const auto& [knob, opt] : options->knobs)
        if (opt->count() > 0) given[knob] = options->values[knob];
      const course::Args args(name, e.knobs, given, options->quick);
      course::Output output(options->out, !options->no_plot);
      e.run(args, output);
    });
  }
}

}  // namespace kiln::cli
