#pragma once
// Each subcommand of `kiln` registers its options and its action on the app.
#include <CLI/CLI.hpp>

namespace kiln::cli {

void add_generate_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);
void add_attention_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_prepare_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_course_command(CLI::App& app);

// The subcommands of `kiln bench`, registered on the group by add_bench_command.
void add_bench_scaling_command(CLI::App& bench);

}  // namespace kiln::cli
