// kiln train: pretrain a causal LM from a TOML config, with --set overrides, or resume a run.
#include <fmt/core.h>

#include "cli/commands.h"
#include "infer/generation.h"
#include "train/trainer.h"

namespace kiln::cli {

void add_train_command(CLI::App& app) {
  struct Options {
    std::string config;
    std::vector<std::string> overrides;
    std::string resume;
  };
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "train", "Train a GPT-2 or Llama-family model (configs/*.toml; docs/training.md)");
  cmd->add_option("config", options->config, "TOML config (defaults apply without one)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--set", options->overrides, "Override a config key: --set max_steps=2000")
      ->allow_extra_args(false);
  auto* resume = cmd->add_option("--resume", options->resume,
                                 "Continue the run in this out_dir from its newest checkpoint");
  resume->excludes(cmd->get_option("config"));
  cmd->callback([options] {
    train::TrainConfig config;
    if (!options->config.empty()) config = train::load_config(options->config);
    std::optional<std::filesystem::path> resume;
    if (!options->resume.empty()) resume = options->resume;
    const train::TrainSummary s =
        train::run_training(config, resume, options->overrides, infer::greedy_generate);
    fmt::print("done: {} steps in {:.1f} s, last loss {:.4f}", s.steps, s.seconds, s.last_loss);
    if (s.val_loss) fmt::print(", val loss {:.4f}", *s.val_loss);
    fmt::print("\n");
    if (s.accuracy) {
      fmt::print("held-out accuracy: {:.1f}% ({} of {} exact)\n", 100.0 * s.accuracy->accuracy,
                 s.accuracy->correct, s.accuracy->total);
      for (const auto& sample : s.accuracy->samples)
        fmt::print("  {}{}   expected {}  {}\n", sample.prompt, sample.got, sample.expected,
                   sample.correct ? "ok" : "WRONG");
    }
    fmt::print("checkpoint: {}\n", s.checkpoint.string());
  });
}

}  // namespace kiln::cli
