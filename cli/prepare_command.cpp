// kiln prepare: tokenize text into llm.c-format token shards.
#include <fmt/core.h>

#include "cli/commands.h"
#include "text/prepare.h"

namespace kiln::cli {

void add_prepare_command(CLI::App& app) {
  auto options = std::make_shared<PrepareOptions>();
  CLI::App* cmd =
      app.add_subcommand("prepare", "Tokenize text into train/val token shards (docs/data.md)");
  cmd->add_option("--input", options->input, "A UTF-8 text file, or a directory of them")
      ->required();
  cmd->add_option("--tokenizer", options->tokenizer, "char, or a tokenizer directory")->required();
  cmd->add_option("--out", options->output, "Output directory")->required();
  cmd->add_option("--val-fraction", options->val_fraction, "Share of tokens for validation")
      ->check(CLI::Range(0.0, 0.5));
  cmd->add_option("--shard-tokens", options->shard_tokens, "Tokens per shard at most")
      ->check(CLI::PositiveNumber);
  cmd->callback([options] {
    const PrepareResult r = prepare_shards(*options);
    fmt::print(
        "{} documents -> {} train tokens in {} shard(s), {} val tokens in {} shard(s); "
        "{} tokenizer, vocab {} -> {}\n",
        r.documents, r.train_tokens, r.train_shards.size(), r.val_tokens, r.val_shards.size(),
        r.tokenizer_kind, r.vocab_size, options->output.string());
  });
}

}  // namespace kiln::cli
