// kiln: one binary, one subcommand per job. Every failure is one line on stderr and a
// non-zero exit status.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <exception>

#include "cli/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"kiln: train and run Transformer language models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "kiln 0.1.0");
  kiln::cli::add_generate_command(app);
  kiln::cli::add_eval_command(app);
  kiln::cli::add_tokenize_command(app);
  kiln::cli::add_attention_command(app);
  kiln::cli::add_info_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "kiln: {}\n", e.what());
    return e.get_exit_code() == 0 ? 2 : e.get_exit_code();
  } catch (const kiln::Error& e) {
    fmt::print(stderr, "kiln: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "kiln: unexpected error: {}\n", e.what());
    return 1;
  }
  return 0;
}
