// Experiment 3: the vanishing gradient. The task: read a random binary sequence of length T and
// output its first bit; the later bits are noise. The loss is computed at the end, so the only
// signal that can teach the network to remember bit 1 is the gradient that flows back through
// T steps of the recurrence. For the simple RNN that gradient is multiplied by W_hh and tanh' at
// every step and shrinks geometrically with T: the table shows ||dL/dx_1|| at initialisation (the
// gradient that reaches the first input) falling by orders of magnitude, and the accuracy after
// training dropping to chance. The LSTM's and GRU's gated, additive state updates let far more
// of it through (with the usual positive bias on the gate that keeps the state).
#include <fmt/core.h>

#include <cmath>
#include <random>

#include "core/ops.h"
#include "course/experiments.h"
#include "course/recurrent.h"
#include "models/layers.h"
#include "train/adamw.h"

namespace kiln::course {
namespace {

// Bits as ±1 inputs [B, T, 1] and the first bit of each row as the label.
std::pair<Tensor, Tensor> make_batch(int64_t batch, int64_t t, std::mt19937_64& rng) {
  std::bernoulli_distribution bit(0.5);
  std::vector<float> x(static_cast<size_t>(batch * t));
  std::vector<int64_t> y(static_cast<size_t>(batch));
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t s = 0; s < t; ++s) x[b * t + s] = bit(rng) ? 1.0f : -1.0f;
    y[b] = x[b * t] > 0 ? 1 : 0;
  }
  return {from_vector(x, {batch, t, 1}), from_vector(y, {batch})};
}

struct Result {
  double first_step_grad = 0;  // ||dL/dx_1|| at initialisation, mean over the probe batches
  double last_step_grad = 0;   // the same for x_T, for scale
  double accuracy = 0;         // on fresh sequences after training
};

// The gated cells' usual initialisation trick (Gers et al. 2000; Jozefowicz et al. 2015): a
// positive bias on the gate that keeps the old state (the LSTM's forget gate f, the GRU's
// update gate z), so that at the start the state is carried rather than halved at every step.
void bias_towards_memory(models::RecurrentLayer& layer, double bias) {
  const int64_t h = layer.hidden_size();
  const int64_t gate = 1;  // f in the LSTM's (i, f, g, o), z in the GRU's (r, z, n)
  if (layer.kind() == models::CellKind::rnn_tanh || bias == 0) return;
  NoGradGuard no_grad;
  const Tensor& b = *layer.weights(0).bias_ih;
  copy_(slice(b, 0, gate * h, (gate + 1) * h), full({h}, bias));
}

// ||dL/dx_t|| for t = 1 and t = T on one batch, without updating anything.
std::pair<double, double> input_gradient_norms(const models::RecurrentLayer& rnn,
                                               const models::Linear& head, int64_t batch, int64_t t,
                                               std::mt19937_64& rng) {
  auto [x, y] = make_batch(batch, t, rng);
  x.set_requires_grad(true);
  const Tensor h = rnn.forward(x).output;
  cross_entropy(head.forward(squeeze(slice(h, 1, t - 1, t), 1)), y).backward();
  NoGradGuard no_grad;
  const Tensor g = x.grad();
  const auto per_step = sum(g * g, {0}).to_vector<float>();  // [T, 1]
  return {std::sqrt(per_step.front()), std::sqrt(per_step.back())};
}

Result train_one(const std::string& kind, int64_t t, int64_t hidden, int64_t steps, int64_t batch,
                 double lr, double memory_bias, uint64_t seed, const std::string& op) {
  Generator gen(seed);
  std::unique_ptr<models::RecurrentLayer> rnn = make_recurrent(kind, 1, hidden, gen, op);
  bias_towards_memory(*rnn, memory_bias);
  models::Linear head(hidden, 2, true, gen, 0.1);
  std::mt19937_64 rng(seed + static_cast<uint64_t>(t));
  // The gradient that reaches the first step before any learning: the network as initialised,
  // averaged over a few batches, so that it measures the architecture and not a lucky run.
  Result r;
  constexpr int kProbes = 8;
  for (int i = 0; i < kProbes; ++i) {
    const auto [first, last] = input_gradient_norms(*rnn, head, batch, t, rng);
    r.first_step_grad += first / kProbes;
    r.last_step_grad += last / kProbes;
  }
  rnn->zero_grad();
  head.zero_grad();
  train::AdamW optimizer(parameters_of({rnn.get(), &head}), {lr, 0.9, 0.999, 1e-8, 0.0});
  for (int64_t step = 0; step < steps; ++step) {
    const auto [x, y] = make_batch(batch, t, rng);
    const Tensor h = rnn->forward(x).output;
    cross_entropy(head.forward(squeeze(slice(h, 1, t - 1, t), 1)), y).backward();
    optimizer.step();
    optimizer.zero_grad();
  }
  NoGradGuard no_grad;
  const auto [x, y] = make_batch(512, t, rng);
  const Tensor h = rnn->forward(x).output;
  const auto predicted =
      argmax(head.forward(squeeze(slice(h, 1, t - 1, t), 1)), -1).to_vector<int64_t>();
  const auto labels = y.to_vector<int64_t>();
  int64_t correct = 0;
  for (size_t i = 0; i < labels.size(); ++i) correct += predicted[i] == labels[i];
  r.accuracy = static_cast<double>(correct) / static_cast<double>(labels.size());
  return r;
}

void run(const Args& args, Output& out) {
  const std::vector<int64_t> lengths = args.integers("lengths", 2, 100000);
  const std::vector<std::string> kinds = recurrent_kinds(args.text("models"), args.op());
  const int64_t hidden = args.integer("hidden", 1, 4096);
  const int64_t steps = args.integer("steps", 1, 1000000);
  const int64_t batch = args.integer("batch", 1, 65536);
  const double lr = args.number("lr", 1e-8, 10.0);
  const auto seed = static_cast<uint64_t>(args.integer("seed", 0, INT64_MAX));
  const double memory_bias = args.number("memory-bias", -10.0, 10.0);
  fmt::print(
      "Experiment 3: remember the first of T random bits; hidden {}, {} Adam steps of {} "
      "sequences, lr {}\n",
      hidden, steps, batch, lr);
  Table table{{"model", "T", "grad_norm_first_step", "grad_norm_last_step", "accuracy"}, {}};
  for (const std::string& kind : kinds)
    for (const int64_t t : lengths) {
      const Result r = train_one(kind, t, hidden, steps, batch, lr, memory_bias, seed, args.op());
      table.add({kind, std::to_string(t), fmt::format("{:.3e}", r.first_step_grad),
                 fmt::format("{:.3e}", r.last_step_grad), cell(r.accuracy, 3)});
      fmt::print("  {} T={}: ||dL/dx_1|| {:.3e}, accuracy {:.3f}\n", kind, t, r.first_step_grad,
                 r.accuracy);
    }
  table.print();
  out.write_csv("vanishing_gradient.csv", table);
  out.plot("vanishing_gradient", "vanishing_gradient.png");
}

}  // namespace

Experiment vanishing_gradient_experiment() {
  return {
      "vanishing-gradient",
      "Expérience 3: gradient qui s'annule dans un RNN",
      "Gradient norm reaching the first step, and accuracy, against T (RNN, LSTM, GRU)",
      {{"lengths", "Sequence lengths T", "10,20,50,100", "5,10,20"},
       {"models", "Recurrent networks, comma-separated (rnn, lstm, gru)", "rnn,lstm,gru", ""},
       {"hidden", "Hidden size", "32", "16"},
       {"steps", "Training steps per (model, T)", "300", "15"},
       {"batch", "Sequences per step", "32", "16"},
       {"lr", "Adam learning rate", "0.01", ""},
       {"memory-bias", "Initial bias of the LSTM's forget gate and the GRU's update gate", "1", ""},
       {"seed", "Seeds weights and data", "0", ""}},
      run};
}

}  // namespace kiln::course
