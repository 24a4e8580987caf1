#include "train/trainer.h"

#include <cassert>
#include <chrono>
#include <cmath>
#include <optional>

#include "core/file_io.h"
#include "core/log.h"
#include "core/ops.h"
#include "models/gpt.h"
#include "models/llama.h"
#include "models/pretrained.h"
#include "train/adamw.h"
#include "train/batch_source.h"
#include "train/checkpoint.h"
#include "train/grad_clip.h"
#include "train/loss_scaler.h"
#include "train/lr_schedule.h"
#include "train/mfu.h"
#include "train/run_log.h"
#include "train/sgd.h"

namespace kiln::train {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

Device resolve_device(const TrainConfig& c) {
  if (c.device == "auto") return cuda_available() ? Device::cuda(0) : Device::cpu();
  return parse_device(c.device);
}

// A new model of config.model's family and shape, or the directory init_from names (whose
// vocabulary must hold the tokenizer's ids).
std::unique_ptr<models::CausalLM> make_model(const TrainConfig& c, const Tokenizer& tokenizer) {
  if (c.init_from != "scratch") {
    std::unique_ptr<models::CausalLM> model = models::load_pretrained(c.init_from);
    KILN_CHECK(tokenizer.vocab_size() <= model->shape().vocab_size, "config",
               "'init_from' {} has a vocabulary of {}, smaller than the tokenizer's {}: its ids "
               "would index past the embedding; use the model's own tokenizer",
               c.init_from, model->shape().vocab_size, tokenizer.vocab_size());
    return model;
  }
  const int64_t vocab_size = c.vocab_size > 0 ? c.vocab_size : tokenizer.vocab_size();
  KILN_CHECK(vocab_size >= tokenizer.vocab_size(), "config",
             "'vocab_size' {} is smaller than the tokenizer's {}", vocab_size,
             tokenizer.vocab_size());
  if (c.model == "llama") {
    models::LlamaConfig l;
    l.vocab_size = vocab_size;
    l.block_size = c.block_size;
    l.n_layer = c.n_layer;
    l.n_head = c.n_head;
    l.n_kv_head = c.n_kv_head > 0 ? c.n_kv_head : c.n_head;
    l.n_embd = c.n_embd;
    // SwiGLU's three matrices at 8/3 the width cost what GPT-2's two at 4x do.
    l.intermediate_size =
        c.intermediate_size > 0 ? c.intermediate_size : (8 * c.n_embd / 3 + 63) / 64 * 64;
    l.head_dim = c.head_dim;
    l.rope_theta = c.rope_theta;
    l.rms_norm_eps = c.rms_norm_eps;
    l.attention_bias = l.attention_out_bias = c.attention_bias;
    l.tie_word_embeddings = c.tie_embeddings;
    l.seed = c.seed;
    return std::make_unique<models::Llama>(l);
  }
  models::GPTConfig g;
  g.vocab_size = vocab_size;
  g.block_size = c.block_size;
  g.n_layer = c.n_layer;
  g.n_head = c.n_head;
  g.n_embd = c.n_embd;
  g.dropout = c.dropout;
  g.bias = c.bias;
  g.tie_word_embeddings = c.tie_embeddings;
  g.seed = c.seed;
  return std::make_unique<models::GPT>(g);
}

std::unique_ptr<Optimizer> make_optimizer(const TrainConfig& c, const models::CausalLM& model) {
  if (c.optimizer == "sgd") {
    SGDOptions o;
    o.lr = c.learning_rate;
    o.momentum = c.momentum;
    o.weight_decay = c.weight_decay;
    return std::make_unique<SGD>(model.named_parameters(), o);
  }
  AdamWOptions o;
  o.lr = c.learning_rate;
  o.beta1 = c.beta1;
  o.beta2 = c.beta2;
  o.weight_decay = c.weight_decay;
  return std::make_unique<AdamW>(model.named_parameters(), o);
}

LrSchedule make_schedule(const TrainConfig& c) {
  LrSchedule s;
  s.kind = LrSchedule::parse_kind(c.lr_schedule);
  s.lr = c.learning_rate;
  s.min_lr = c.min_lr;
  s.warmup_steps = c.warmup_steps;
  s.max_steps = c.max_steps;
  s.validate();
  return s;
}

// Mean loss of `targets` given `ids` (ignore_index -100).
Tensor batch_loss(models::CausalLM& model, const Tensor& ids, const Tensor& targets,
                  Device device) {
  const Tensor logits = model.forward(ids.to(device));
  const int64_t rows = logits.size(0) * logits.size(1);
  return cross_entropy(logits.reshape({rows, logits.size(2)}), targets.to(device).reshape({rows}),
                       -100);
}

double validation_loss(models::CausalLM& model, BatchSource& source, int64_t steps, Device device) {
  NoGradGuard no_grad;
  double total = 0.0;
  for (int64_t i = 0; i < steps; ++i) {
    const auto [x, y] = source.next();
    total += batch_loss(model, x, y, device).item();
  }
  return total / static_cast<double>(steps);
}

// Everything a run carries from step to step; a checkpoint holds what restore() needs to
// rebuild it exactly.
struct Run {
  TrainConfig config;
  Device device = Device::cpu();
  TrainingData data;
  std::unique_ptr<models::CausalLM> model;
  std::unique_ptr<Optimizer> optimizer;
  LossScaler scaler{false};
  LrSchedule schedule;
  std::optional<fs::path> checkpoint;  // the one resumed from
  int64_t step = 0;
  int64_t skipped = 0;
  double elapsed_before = 0.0;  // seconds of the attempts before this one
};

// A fresh run from `config`, or the run of `resume_dir`'s newest checkpoint with `overrides`
// applied to its config.
Run restore(TrainConfig config, const std::optional<fs::path>& resume_dir,
            const std::vector<std::string>& overrides) {
  Run run;
  nlohmann::json resumed_state;
  if (resume_dir) {
    run.checkpoint = latest_checkpoint(*resume_dir);
    resumed_state = read_json_file(*run.checkpoint / "trainer_state.json", "resume");
    config = TrainConfig::from_json(resumed_state.at("config"));
    // The checkpoint holds the weights; they are not re-initialised from anywhere else.
    config.init_from = "scratch";
  }
  apply_overrides(config, overrides);
  config.validate();
  run.device = resolve_device(config);
  KILN_CHECK(config.dtype == "f32" || run.device.is_cuda(), "config",
             "'dtype' {} needs a CUDA device; the CPU trains in f32", config.dtype);

  run.data = open_training_data(config);
  run.model = run.checkpoint ? models::load_pretrained(*run.checkpoint)
                             : make_model(config, *run.data.tokenizer);
  KILN_CHECK(run.model->shape().block_size >= config.block_size, "config",
             "'block_size' {} exceeds the model's context of {}", config.block_size,
             run.model->shape().block_size);
  run.model->to(run.device);
  // bf16/f16 weights; the optimizer keeps their f32 masters (saved with its state).
  if (config.dtype != "f32") run.model->to(parse_dtype(config.dtype));
  run.optimizer = make_optimizer(config, *run.model);
  run.scaler = LossScaler(config.dtype == "f16");
  run.schedule = make_schedule(config);
  if (run.checkpoint) {
    const LoadedCheckpoint loaded = read_checkpoint(*run.checkpoint);
    run.optimizer->load_state(loaded.optimizer_state);
    const nlohmann::json& s = loaded.trainer_state;
    run.step = s.at("step").get<int64_t>();
    run.elapsed_before = s.value("elapsed_s", 0.0);
    run.skipped = s.value("skipped_steps", int64_t{0});
    if (s.contains("loss_scaler")) run.scaler.load_state(s.at("loss_scaler"));
    run.data.train->set_state(s.at("data"));
    run.model->dropout_generator().set_state(s.at("dropout_rng").at("seed").get<uint64_t>(),
                                             s.at("dropout_rng").at("offset").get<uint64_t>());
  }
  run.config = std::move(config);
  return run;
}

struct StepResult {
  double loss = 0.0;
  double lr = 0.0;
  double grad_norm = 0.0;
};

// One optimizer step over grad_accum micro-batches, with the NaN guard and loss scaling.
StepResult train_step(Run& run, const std::vector<Tensor>& params, RunLog& log) {
  const TrainConfig& c = run.config;
  StepResult result;
  result.lr = run.schedule.at(run.step);
  run.optimizer->set_lr(result.lr);
  double loss_sum = 0.0;
  for (int64_t micro = 0; micro < c.grad_accum; ++micro) {
    const auto [x, y] = run.data.train->next();
    const Tensor loss = batch_loss(*run.model, x, y, run.device);
    loss_sum += loss.item();
    run.scaler.backward(c.grad_accum > 1 ? loss / static_cast<double>(c.grad_accum) : loss);
  }
  result.loss = loss_sum / static_cast<double>(c.grad_accum);
  // The gradients carry the loss scale (1 unless f16): clip against the scaled threshold and
  // report the true norm.
  const double grad_scale = run.scaler.scale();
  result.grad_norm = (c.grad_clip > 0 ? clip_grad_norm(params, c.grad_clip * grad_scale)
                                      : global_grad_norm(params)) /
                     grad_scale;
  ++run.step;
  const bool finite_loss = std::isfinite(result.loss);
  if (finite_loss && !run.scaler.update(std::isfinite(result.grad_norm))) {
    ++run.skipped;
    log.warning(fmt::format("step {}: gradient overflow at loss scale {}, step skipped", run.step,
                            grad_scale));
  } else if (!finite_loss || !std::isfinite(result.grad_norm)) {
    KILN_CHECK(c.nan_policy == "skip", "train",
               "non-finite {} at step {} (loss {}, grad norm {}); the weights are unchanged. "
               "Lower learning_rate, or set nan_policy = \"skip\" to skip such steps",
               finite_loss ? "gradient" : "loss", run.step, result.loss, result.grad_norm);
    ++run.skipped;
    log.warning(fmt::format("step {}: non-finite loss or gradient, step skipped", run.step));
  } else {
    run.optimizer->set_grad_scale(grad_scale);
    run.optimizer->step();
  }
  run.optimizer->zero_grad();
  return result;
}

fs::path save(const Run& run, double elapsed) {
  models::CausalLM& model = *run.model;
  const nlohmann::json state = {
      {"step", run.step},
      {"config", run.config.to_json()},
      {"data", run.data.train->state()},
      {"dropout_rng",
       {{"seed", model.dropout_generator().seed()},
        {"offset", model.dropout_generator().offset()}}},
      {"elapsed_s", run.elapsed_before + elapsed},
      {"skipped_steps", run.skipped},
      {"loss_scaler", run.scaler.state()},
  };
  const fs::path dir = save_checkpoint(run.config.out_dir, run.step, model, *run.optimizer,
                                       *run.data.tokenizer, state, run.config.keep_checkpoints);
  logging::debug("checkpoint of step {} written to {}", run.step, dir.string());
  return dir;
}

// Validation loss and task accuracy with dropout off. Evaluation reads the model and fresh
// validation sources only: it draws nothing from the training data or the dropout RNG, so a
// run that evaluates at a step continues exactly as one that does not.
void evaluate(Run& run, const GreedyDecoder& decode, RunLog& log, TrainSummary& summary) {
  models::CausalLM& model = *run.model;
  [[maybe_unused]] const uint64_t dropout_offset = model.dropout_generator().offset();
  nlohmann::json record = {{"type", "eval"}, {"step", run.step}};
  model.eval();
  if (run.data.make_validation) {
    auto source = run.data.make_validation();
    summary.val_loss = validation_loss(model, *source, run.config.eval_steps, run.device);
    record["val_loss"] = *summary.val_loss;
  }
  if (run.data.task && run.config.eval_examples > 0) {
    summary.accuracy = evaluate_task(model, *run.data.task, run.config.eval_examples, decode);
    record["accuracy"] = summary.accuracy->accuracy;
  }
  model.train();
  assert(model.dropout_generator().offset() == dropout_offset);
  log.eval(record);
}

}  // namespace

TrainSummary run_training(TrainConfig config, const std::optional<fs::path>& resume_dir,
                          const std::vector<std::string>& overrides, const GreedyDecoder& decode) {
  Run run = restore(std::move(config), resume_dir, overrides);
  const TrainConfig& c = run.config;
  KILN_CHECK(!run.data.task || c.eval_examples == 0 || decode, "train",
             "scoring {} (eval_examples = {}) needs a decoder: pass infer::greedy_generate, as "
             "`kiln train` does, or set eval_examples = 0",
             c.data, c.eval_examples);
  const fs::path out_dir(c.out_dir);
  fs::create_directories(out_dir);
  RunLog log(out_dir, c.max_steps, c.log_interval, run.step);
  log.message(fmt::format("kiln train: {} parameters, data {}, device {}{}",
                          run.model->parameter_count(), c.data, run.device.str(),
                          run.checkpoint ? fmt::format(", resumed at step {} from {}", run.step,
                                                       run.checkpoint->string())
                                         : ""));

  const std::vector<Tensor> params = run.model->parameters();
  const double tokens_per_step = static_cast<double>(c.batch_size * c.block_size * c.grad_accum);
  const double flops_per_token =
      training_flops_per_token(run.model->shape(), run.model->parameter_count(), c.block_size);
  const std::optional<double> peak =
      c.peak_tflops > 0 ? std::optional<double>(c.peak_tflops * 1e12)
                        : peak_flops(device_name(run.device), parse_dtype(c.dtype), allow_tf32());
  TrainSummary summary;
  const auto started = Clock::now();
  double seconds_per_step = 0.0;

  run.model->train();
  while (run.step < c.max_steps) {
    const auto step_start = Clock::now();
    const StepResult result = train_step(run, params, log);
    const double seconds = std::chrono::duration<double>(Clock::now() - step_start).count();
    seconds_per_step = seconds_per_step == 0.0 ? seconds : 0.9 * seconds_per_step + 0.1 * seconds;
    summary.last_loss = result.loss;
    nlohmann::json record = {{"step", run.step},
                             {"loss", result.loss},
                             {"lr", result.lr},
                             {"grad_norm", result.grad_norm},
                             {"tokens_per_s", tokens_per_step / seconds}};
    if (peak) record["mfu"] = tokens_per_step / seconds * flops_per_token / *peak;
    log.step(record, seconds_per_step);
    const bool last = run.step == c.max_steps;
    // The checkpoint first: it holds the training state of this step, whatever evaluation does.
    if ((c.ckpt_interval > 0 && run.step % c.ckpt_interval == 0) || last)
      summary.checkpoint = save(run, std::chrono::duration<double>(Clock::now() - started).count());
    if ((c.eval_interval > 0 && run.step % c.eval_interval == 0) || last)
      evaluate(run, decode, log, summary);
  }
  summary.steps = run.step;
  summary.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return summary;
}

}  // namespace kiln::train
