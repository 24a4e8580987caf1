#include "course/language_model.h"

#include <fmt/core.h>

#include <cmath>
#include <functional>

#include "core/error.h"
#include "core/file_io.h"
#include "core/ops.h"
#include "models/hf.h"
#include "text/bpe_trainer.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/trainer.h"

namespace kiln::course {
namespace fs = std::filesystem;

std::vector<Knob> language_model_knobs() {
  return {{"model", "A Hugging Face GPT-2 directory (config.json, model.safetensors, tokenizer)",
           "", ""},
          {"corpus",
           "Without --model: text to train a small GPT on (default: course/data/mini_corpus.txt)",
           "", ""},
          {"cache", "Where the small GPT trained on --corpus is kept", "out/course/cache", ""},
          {"lm-steps", "Training steps of the small GPT", "600", "40"}};
}

namespace {

LanguageModel load_directory(const fs::path& dir, const std::string& op) {
  KILN_CHECK(fs::is_directory(dir), op, "--model {} is not a directory", dir.string());
  // A training run's out_dir stands for its newest checkpoint.
  const fs::path model_dir =
      !fs::exists(dir / "config.json") && fs::is_directory(dir / "checkpoints")
          ? train::latest_checkpoint(dir)
          : dir;
  LanguageModel lm;
  lm.model = models::load_gpt2(model_dir);
  lm.tokenizer = load_tokenizer(model_dir);
  KILN_CHECK(lm.tokenizer->vocab_size() <= lm.model->config().vocab_size, op,
             "the tokenizer in {} has {} tokens but the model only {}", model_dir.string(),
             lm.tokenizer->vocab_size(), lm.model->config().vocab_size);
  lm.description = fmt::format("{} ({} layers, {} parameters)", model_dir.string(),
                               lm.model->config().n_layer, lm.model->parameter_count());
  return lm;
}

// A run directory with a complete checkpoint (the trainer writes each one atomically, so an
// interrupted training leaves none and is simply run again).
bool has_checkpoint(const fs::path& dir) {
  if (!fs::is_directory(dir / "checkpoints")) return false;
  try {
    train::latest_checkpoint(dir);
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

LanguageModel language_model(const Args& args) {
  if (!args.text("model").empty()) {
    LanguageModel lm = load_directory(args.text("model"), args.op());
    lm.model->eval();
    fmt::print("language model: {}\n", lm.description);
    return lm;
  }
  const fs::path corpus =
      args.text("corpus").empty() ? course_data("mini_corpus.txt") : fs::path(args.text("corpus"));
  const std::string text = read_text_file(corpus, args.op());
  const int64_t steps = args.integer("lm-steps", 1, 1000000);
  // Byte-level BPE, so that any prompt encodes whatever characters the corpus lacks.
  const int64_t vocab = 512;
  const std::string settings = fmt::format("bpe{}-L2-H4-E128-T64-steps{}", vocab, steps);
  const size_t key = std::hash<std::string>{}(text + settings);
  const fs::path dir = fs::path(args.text("cache")) / fmt::format("gpt-{:016x}", key);
  if (!has_checkpoint(dir)) {
    fmt::print("training a small GPT on {} ({} steps; cached in {} for the next runs)...\n",
               corpus.string(), steps, dir.string());
    BpeTrainerOptions bpe_options;
    bpe_options.vocab_size = vocab;
    const ByteLevelBpe bpe = train_byte_level_bpe(text, bpe_options);
    bpe.save(dir / "tokenizer");
    train::TrainConfig c;
    c.n_layer = 2;
    c.n_head = 4;
    c.n_embd = 128;
    c.block_size = 64;
    c.batch_size = 16;
    c.max_steps = steps;
    c.warmup_steps = std::min<int64_t>(50, steps / 10);
    c.learning_rate = 3e-3;
    c.eval_interval = steps;
    c.eval_steps = 2;
    c.ckpt_interval = steps;
    c.keep_checkpoints = 1;
    c.log_interval = std::max<int64_t>(1, steps / 5);
    c.data = corpus.string();
    c.tokenizer = (dir / "tokenizer").string();
    c.val_fraction = 0.1;
    c.device = "cpu";
    c.out_dir = dir.string();
    train::run_training(c, std::nullopt, {});
  } else {
    fmt::print("reusing the small GPT trained on {} (cached in {})\n", corpus.string(),
               dir.string());
  }
  LanguageModel lm = load_directory(dir, args.op());
  lm.model->eval();
  lm.description = fmt::format("a small GPT trained here on {} ({} steps, {} parameters)",
                               corpus.string(), steps, lm.model->parameter_count());
  fmt::print("language model: {}\n", lm.description);
  return lm;
}

std::vector<double> next_token_log_probs(models::GPT& model, const std::vector<int64_t>& ids) {
  NoGradGuard no_grad;
  const int64_t block = model.config().block_size;
  const std::vector<int64_t> window(
      ids.end() - std::min<int64_t>(block, static_cast<int64_t>(ids.size())), ids.end());
  const auto n = static_cast<int64_t>(window.size());
  const Tensor logits = model.forward(from_vector(window, {1, n}));
  const Tensor last = log_softmax(squeeze(slice(logits, 1, n - 1, n), 1));
  const auto values = last.contiguous().to_vector<float>();
  return {values.begin(), values.end()};
}

}  // namespace kiln::course
