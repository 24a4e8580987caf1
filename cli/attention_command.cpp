// kiln attention: export every layer's and head's attention weights for a prompt as CSV.
#include <fmt/core.h>

#include "cli/commands.h"
#include "cli/inputs.h"
#include "infer/attention_maps.h"

namespace kiln::cli {

void add_attention_command(CLI::App& app) {
  struct Options {
    std::string model;
    std::string prompt;
    std::string out;
  };
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("attention", "Export attention weights as CSV for heat maps");
  cmd->add_option("--model", options->model, "Model directory")->required();
  cmd->add_option("--prompt", options->prompt, "Text to attend over")->required();
  cmd->add_option("--out", options->out, "Output directory")->required();
  cmd->callback([options] {
    LoadedModel loaded = load_model_dir(options->model);
    const std::vector<int64_t> ids = loaded.tokenizer->encode(options->prompt);
    KILN_CHECK(!ids.empty(), "attention", "the prompt encodes to no tokens");
    std::vector<std::string> tokens;
    for (const int64_t id : ids) tokens.push_back(loaded.tokenizer->decode({id}));
    infer::export_attention_maps(*loaded.model, ids, tokens, options->out);
    const models::LMShape c = loaded.model->shape();
    fmt::print("wrote {} layers x {} heads of {}x{} weights and tokens.csv to {}\n", c.n_layer,
               c.n_head, ids.size(), ids.size(), options->out);
  });
}

}  // namespace kiln::cli
