// kiln generate: continue a prompt with a model directory's model (GPT-2 or Llama family) and
// tokenizer.
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/inputs.h"
#include "cli/validators.h"
#include "infer/generation.h"

namespace kiln::cli {

void add_generate_command(CLI::App& app) {
  struct Options {
    std::string model;
    std::string prompt;
    int64_t max_new_tokens = 64;
    double temperature = 1.0;
    int64_t top_k = 0;
    double top_p = 1.0;
    uint64_t seed = 0;
    bool greedy = false;
    bool json = false;
    std::string device = "cpu";
    std::string dtype = "f32";
  };
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("generate", "Continue a prompt (greedy or sampled)");
  cmd->add_option("--model", options->model,
                  "Model directory (config.json, model.safetensors, tokenizer)")
      ->required();
  cmd->add_option("--prompt", options->prompt, "Text to continue")->required();
  cmd->add_option("--max-new-tokens", options->max_new_tokens, "Tokens to generate")
      ->transform(decimal_integer(0));
  cmd->add_option("--temperature", options->temperature, "Divide logits by T (> 0)")
      ->transform(positive_number());
  cmd->add_option("--top-k", options->top_k, "Sample among the K most likely tokens (0: all)")
      ->transform(decimal_integer(0));
  cmd->add_option("--top-p", options->top_p, "Nucleus sampling: smallest set with probability >= P")
      ->transform(probability());
  cmd->add_option("--seed", options->seed, "Sampling seed")->transform(unsigned_integer());
  cmd->add_flag("--greedy", options->greedy, "Always take the most likely token");
  cmd->add_flag("--json", options->json, R"(Print {"ids": [...], "text": "..."})");
  cmd->add_option("--device", options->device, "cpu, cuda, cuda:N or auto (CUDA when present)");
  cmd->add_option("--dtype", options->dtype, "f32, or bf16/f16 on CUDA");
  cmd->callback([options] {
    LoadedModel loaded = load_model_dir(options->model);
    place_model(*loaded.model, options->device, options->dtype, "generate");
    const std::vector<int64_t> prompt = loaded.tokenizer->encode(options->prompt);
    KILN_CHECK(!prompt.empty(), "generate", "the prompt encodes to no tokens");
    KILN_CHECK(static_cast<int64_t>(prompt.size()) <= loaded.model->shape().block_size, "generate",
               "the prompt has {} tokens, longer than the model's context of {}", prompt.size(),
               loaded.model->shape().block_size);
    infer::GenerationOptions gen;
    gen.max_new_tokens = options->max_new_tokens;
    gen.seed = options->seed;
    gen.eos_id = loaded.tokenizer->eos_id();
    gen.sampling = {options->greedy, options->temperature, options->top_k, options->top_p};
    if (options->json) {
      const std::vector<int64_t> ids = infer::generate(*loaded.model, {prompt}, gen)[0];
      const nlohmann::json out = {{"ids", ids}, {"text", loaded.tokenizer->decode(ids)}};
      fmt::print("{}\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      return;
    }
    // Streaming: print each token as it comes. A token may end inside a multi-byte UTF-8
    // character, so text is printed up to the last complete decode.
    // The prompt is echoed with the first token, after generate() has validated it.
    std::vector<int64_t> produced;
    std::string printed;
    infer::generate(*loaded.model, {prompt}, gen, [&](size_t, int64_t token) {
      if (produced.empty()) fmt::print("{}", options->prompt);
      produced.push_back(token);
      const std::string text = loaded.tokenizer->decode(produced);
      if (text.size() > printed.size() && text.compare(0, printed.size(), printed) == 0) {
        fmt::print("{}", text.substr(printed.size()));
        std::fflush(stdout);
        printed = text;
      }
    });
    fmt::print("{}\n", produced.empty() ? options->prompt : "");
  });
}

}  // namespace kiln::cli
