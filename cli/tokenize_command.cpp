// kiln tokenize: show how a tokenizer splits a text.
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/inputs.h"
#include "text/utf8.h"

namespace kiln::cli {
namespace {

// A token's bytes for the table, JSON-quoted; bytes that are not valid UTF-8 on their own (a
// token that ends inside a character) are written \xNN rather than all becoming U+FFFD.
std::string shown_token(std::string_view bytes) {
  std::string out;
  while (!bytes.empty()) {
    const size_t valid = utf8::find_invalid(bytes).value_or(bytes.size());
    const std::string escaped = nlohmann::json(std::string(bytes.substr(0, valid))).dump();
    out += escaped.substr(1, escaped.size() - 2);
    if (valid == bytes.size()) break;
    out += fmt::format("\\x{:02X}", static_cast<unsigned char>(bytes[valid]));
    bytes.remove_prefix(valid + 1);
  }
  return "\"" + out + "\"";
}

}  // namespace

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
    for (size_t i = 0; i < ids.size(); ++i)
      fmt::print("{:>8}  {:>8}  {}\n", i, ids[i], shown_token(tokenizer->decode({ids[i]})));
    fmt::print("{} tokens, {} bytes\n", ids.size(), input.size());
  });
}

}  // namespace kiln::cli
