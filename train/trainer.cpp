#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <optional>

#include "core/file_io.h"
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

// A new model of config.model's family and shape, or the directory init_from names.
std::unique_ptr<models::CausalLM> make_model(const TrainConfig& c, const Tokenizer& tokenizer) {
  if (c.init_from != "scratch") return models::load_pretrained(c.init_from);
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

}  // namespace

TrainSummary run_training(TrainConfig config, const std::optional<fs::path>& resume_dir,
                          const std::vector<std::string>& overrides) {
  std::optional<fs::path> checkpoint;
  nlohmann::json resumed_state;
  if (resume_dir) {
    checkpoint = latest_checkpoint(*resume_dir);
    resumed_state = read_json_file(*checkpoint / "trainer_state.json", "resume");
    config = TrainConfig::from_json(resumed_state.at("config"));
    // The checkpoint holds the weights; they are not re-initialised from anywhere else.
    config.init_from = "scratch";
  }
  apply_overrides(config, overrides);
  config.validate();
  const Device device = resolve_device(config);
  KILN_CHECK(config.dtype == "f32" || device.is_cuda(), "config",
             "'dtype' {} needs a CUDA device; the CPU trains in f32", config.dtype);

  TrainingData data = open_training_data(config);
  std::unique_ptr<models::CausalLM> model =
      checkpoint ? models::load_pretrained(*checkpoint) : make_model(config, *data.tokenizer);
  KILN_CHECK(model->shape().block_size >= config.block_size, "config",
             "'block_size' {} exceeds the model's context of {}", config.block_size,
             model->shape().block_size);
  model->to(device);
  // bf16/f16 weights; the optimizer keeps their f32 masters (saved with its state).
  if (config.dtype != "f32") model->to(parse_dtype(config.dtype));
  std::unique_ptr<Optimizer> optimizer = make_optimizer(config, *model);
  LossScaler scaler(config.dtype == "f16");
  const LrSchedule schedule = make_schedule(config);
  int64_t step = 0;
  double elapsed_before = 0.0;
  if (checkpoint) {
    const LoadedCheckpoint loaded = read_checkpoint(*checkpoint);
    optimizer->load_state(loaded.optimizer_state);
    const nlohmann::json& s = loaded.trainer_state;
    step = s.at("step").get<int64_t>();
    elapsed_before = s.value("elapsed_s", 0.0);
    if (s.contains("loss_scaler")) scaler.load_state(s.at("loss_scaler"));
    data.train->set_state(s.at("data"));
    model->dropout_generator().set_state(s.at("dropout_rng").at("seed").get<uint64_t>(),
                                         s.at("dropout_rng").at("offset").get<uint64_t>());
  }
  const fs::path out_dir(config.out_dir);
  fs::create_directories(out_dir);
  RunLog log(out_dir, config.max_steps, config.log_interval, step);
  log.message(fmt::format(
      "kiln train: {} parameters, data {}, device {}{}", model->parameter_count(), config.data,
      device.str(),
      checkpoint ? fmt::format(", resumed at step {} from {}", step, checkpoint->string()) : ""));

  const std::vector<Tensor> params = model->parameters();
  const double tokens_per_step =
      static_cast<double>(config.batch_size * config.block_size * config.grad_accum);
  const double flops_per_token =
      training_flops_per_token(model->shape(), model->parameter_count(), config.block_size);
  const std::optional<double> peak =
      config.peak_tflops > 0
          ? std::optional<double>(config.peak_tflops * 1e12)
          : peak_flops(device_name(device), parse_dtype(config.dtype), allow_tf32());
  TrainSummary summary;
  const auto started = Clock::now();
  double seconds_per_step = 0.0;
  int64_t skipped = 0;

  auto save = [&] {
    const nlohmann::json state = {
        {"step", step},
        {"config", config.to_json()},
        {"data", data.train->state()},
        {"dropout_rng",
         {{"seed", model->dropout_generator().seed()},
          {"offset", model->dropout_generator().offset()}}},
        {"elapsed_s",
         elapsed_before + std::chrono::duration<double>(Clock::now() - started).count()},
        {"skipped_steps", skipped},
        {"loss_scaler", scaler.state()},
    };
    summary.checkpoint = save_checkpoint(out_dir, step, *model, *optimizer, *data.tokenizer, state,
                                         config.keep_checkpoints);
  };
  auto evaluate = [&] {
    nlohmann::json record = {{"type", "eval"}, {"step", step}};
    if (data.make_validation) {
      auto source = data.make_validation();
      summary.val_loss = validation_loss(*model, *source, config.eval_steps, device);
      record["val_loss"] = *summary.val_loss;
    }
    if (data.task && config.eval_examples > 0) {
      summary.accuracy = evaluate_task(*model, *data.task, config.eval_examples);
      record["accuracy"] = summary.accuracy->accuracy;
    }
    model->train();
    log.eval(record);
  };

  model->train();
  while (step < config.max_steps) {
    const auto step_start = Clock::now();
    const double lr = schedule.at(step);
    optimizer->set_lr(lr);
    double loss_sum = 0.0;
    for (int64_t micro = 0; micro < config.grad_accum; ++micro) {
      const auto [x, y] = data.train->next();
      const Tensor loss = batch_loss(*model, x, y, device);
      loss_sum += loss.item();
      scaler.backward(config.grad_accum > 1 ? loss / static_cast<double>(config.grad_accum) : loss);
    }
    const double loss = loss_sum / static_cast<double>(config.grad_accum);
    // The gradients carry the loss scale (1 unless f16): clip against the scaled threshold and
    // report the true norm.
    const double grad_scale = scaler.scale();
    const double grad_norm =
        (config.grad_clip > 0 ? clip_grad_norm(params, config.grad_clip * grad_scale)
                              : global_grad_norm(params)) /
        grad_scale;
    ++step;
    if (std::isfinite(loss) && !scaler.update(std::isfinite(grad_norm))) {
      ++skipped;
      log.message(fmt::format("step {}: gradient overflow at loss scale {}, step skipped", step,
                              grad_scale));
    } else if (!std::isfinite(loss) || !std::isfinite(grad_norm)) {
      KILN_CHECK(config.nan_policy == "skip", "train",
                 "non-finite {} at step {} (loss {}, grad norm {}); the weights are unchanged. "
                 "Lower learning_rate, or set nan_policy = \"skip\" to skip such steps",
                 std::isfinite(loss) ? "gradient" : "loss", step, loss, grad_norm);
      ++skipped;
      log.message(fmt::format("step {}: non-finite loss or gradient, step skipped", step));
    } else {
      optimizer->set_grad_scale(grad_scale);
      optimizer->step();
    }
    optimizer->zero_grad();
    const double seconds = std::chrono::duration<double>(Clock::now() - step_start).count();
    seconds_per_step = seconds_per_step == 0.0 ? seconds : 0.9 * seconds_per_step + 0.1 * seconds;
    summary.last_loss = loss;
    nlohmann::json record = {{"step", step},
                             {"loss", loss},
                             {"lr", lr},
                             {"grad_norm", grad_norm},
                             {"tokens_per_s", tokens_per_step / seconds}};
    if (peak) record["mfu"] = tokens_per_step / seconds * flops_per_token / *peak;
    log.step(record, seconds_per_step);
    const bool last = step == config.max_steps;
    if ((config.eval_interval > 0 && step % config.eval_interval == 0) || last) evaluate();
    if ((config.ckpt_interval > 0 && step % config.ckpt_interval == 0) || last) save();
  }
  summary.steps = step;
  summary.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return summary;
}

}  // namespace kiln::train
