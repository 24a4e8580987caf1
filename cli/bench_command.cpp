// kiln bench: benchmarks a user runs as one command, each a subcommand of the group
// (`kiln bench scaling`, ...). A new benchmark adds its add_bench_*_command (commands.h) here.
#include "cli/commands.h"

namespace kiln::cli {

void add_bench_command(CLI::App& app) {
  CLI::App* bench = app.add_subcommand("bench", "Benchmarks (kiln bench <name> --help)");
  bench->require_subcommand(1);
  add_bench_scaling_command(*bench);
}

}  // namespace kiln::cli
