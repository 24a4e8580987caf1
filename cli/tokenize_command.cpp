// kiln tokenize: show how a tokenizer splits a text.
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/inputs.h"

namespace kiln::cli {

void add_tokenize_command(CLI::App& app) {
  struct Options {
    std::string tokenizer;
    std::optional<std::string> text;
    std::optional<std::string> file;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("tokenize", "Encode a text and show its tokens");
  cmd->add_option(
         "--tokenizer", options->tokenizer,
         "Directory with encoder.json + vocab.bpe, vocab.json + merges.txt, or tokenizer.json")
      ->required();
  auto* text = cmd->add_option("--text", options->text, "Text to encode");
  cmd->add_option("--file", options->file, "File to encode")->excludes(text);
  cmd->add_flag("--json", options->json, R"(Print {"ids": [...]})");
  cmd->callback([options] {
    const std::string input = read_text_input(options->text, options->file, "tokenize");
    const auto tokenizer = load_tokenizer(options->tokenizer);
    const std::vector<int64_t> ids = tokenizer->encode(input);
    if (options->json) {
      fmt::print("{}\n", nlohmann::json{{"ids", ids}}.dump());
      return;
    }
    fmt::print("{:>8}  {:>8}  {}\n", "position", "id", "token");
    for (size_t i = 0; i < ids.size(); ++i) {
      const nlohmann::json shown = tokenizer->decode({ids[i]});
      fmt::print("{:>8}  {:>8}  {}\n", i, ids[i],
                 shown.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    fmt::print("{} tokens, {} bytes\n", ids.size(), input.size());
  });
}

}  // namespace kiln::cli
