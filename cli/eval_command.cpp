// kiln eval: mean next-token loss and perplexity of a text under a model.
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/inputs.h"
#include "infer/perplexity.h"

namespace kiln::cli {

void add_eval_command(CLI::App& app) {
  struct Options {
    std::string model;
    std::optional<std::string> text;
    std::optional<std::string> file;
    bool json = false;
    std::string device = "cpu";
    std::string dtype = "f32";
  };
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("eval", "Loss and perplexity of a text");
  cmd->add_option("--model", options->model, "Model directory")->required();
  auto* text = cmd->add_option("--text", options->text, "Text to score");
  cmd->add_option("--file", options->file, "File to score")->excludes(text);
  cmd->add_flag("--json", options->json,
                R"(Print {"loss": ..., "perplexity": ..., "tokens": ...})");
  cmd->add_option("--device", options->device, "cpu, cuda, cuda:N or auto (CUDA when present)");
  cmd->add_option("--dtype", options->dtype, "f32, or bf16/f16 on CUDA");
  cmd->callback([options] {
    const std::string input = read_text_input(options->text, options->file, "eval");
    LoadedModel loaded = load_model_dir(options->model);
    place_model(*loaded.model, options->device, options->dtype, "eval");
    const infer::LossResult r =
        infer::evaluate_loss(*loaded.model, loaded.tokenizer->encode(input));
    if (options->json) {
      const nlohmann::json out = {
          {"loss", r.loss}, {"perplexity", r.perplexity}, {"tokens", r.tokens}};
      fmt::print("{}\n", out.dump());
    } else {
      fmt::print("loss {:.6f} nats/token, perplexity {:.4f} over {} predicted tokens\n", r.loss,
                 r.perplexity, r.tokens);
    }
  });
}

}  // namespace kiln::cli
