// kiln: one binary, one subcommand per job. Every failure is one line on stderr and a
// non-zero exit status.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <exception>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"
#include "core/log.h"

namespace {

// CLI11 reports `kiln frobnicate` (and `kiln bench frobnicate`) as "A subcommand is required":
// name the word instead, walking down the command groups the leading words select.
std::string parse_error_message(const CLI::App& app, const CLI::ParseError& e, int argc,
                                char** argv) {
  const CLI::App* group = &app;
  for (int i = 1; i < argc && argv[i][0] != '-'; ++i) {
    std::vector<std::string> names;
    const CLI::App* next = nullptr;
    for (const CLI::App* command : group->get_subcommands([](const CLI::App*) { return true; })) {
      names.push_back(command->get_name());
      if (command->get_name() == argv[i]) next = command;
    }
    if (names.empty()) break;  // a command's own arguments follow
    if (next == nullptr) {
      if (group == &app)
        return fmt::format("unknown command '{}' (commands: {})", argv[i], fmt::join(names, ", "));
      return fmt::format("unknown command '{}' for '{}' (commands: {})", argv[i], group->get_name(),
                         fmt::join(names, ", "));
    }
    group = next;
  }
  return e.what();
}

}  // namespace

namespace {

// libgomp's worker threads spin between parallel regions by default. kiln runs many short
// regions with serial work (BLAS calls, small ops) in between, so on a machine with few or busy
// cores the spinning threads starve the working ones: a small training run took 91 s instead of
// 17 s on a loaded 2-core machine. libgomp reads OMP_WAIT_POLICY once, before main, so when
// the user has not chosen a policy, kiln sets "passive" and starts itself again.
void prefer_passive_openmp_waits(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  ::setenv("OMP_WAIT_POLICY", "passive", 1);
  ::execv("/proc/self/exe", argv);  // returns only on failure: then run with spinning waits
}

}  // namespace

int main(int argc, char** argv) {
  prefer_passive_openmp_waits(argv);
  CLI::App app{"kiln: train and run Transformer language models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "kiln " KILN_VERSION);
  kiln::cli::add_train_command(app);
  kiln::cli::add_prepare_command(app);
  kiln::cli::add_generate_command(app);
  kiln::cli::add_eval_command(app);
  kiln::cli::add_tokenize_command(app);
  kiln::cli::add_attention_command(app);
  kiln::cli::add_bench_command(app);
  kiln::cli::add_course_command(app);
  kiln::cli::add_info_command(app);
  try {
    kiln::logging::configure_from_environment();
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "kiln: {}\n", parse_error_message(app, e, argc, argv));
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
