// The slides' RNN/LSTM/GRU demonstration: each network reads characters of the mini-corpus and
// learns to predict the next one (embedding -> recurrent layer -> linear -> softmax), with the
// same data, width and optimizer, so the loss curves compare the cells themselves.
#include <fmt/core.h>

#include <random>

#include "core/file_io.h"
#include "core/ops.h"
#include "course/experiments.h"
#include "course/recurrent.h"
#include "models/layers.h"
#include "text/char_tokenizer.h"
#include "train/adamw.h"

namespace kiln::course {
namespace {

// `batch` random windows of t+1 characters: inputs [B, t] and next characters [B*t].
std::pair<Tensor, Tensor> windows(const std::vector<int64_t>& ids, int64_t batch, int64_t t,
                                  std::mt19937_64& rng) {
  std::uniform_int_distribution<int64_t> start(0, static_cast<int64_t>(ids.size()) - t - 2);
  std::vector<int64_t> x, y;
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t s = start(rng);
    x.insert(x.end(), ids.begin() + s, ids.begin() + s + t);
    y.insert(y.end(), ids.begin() + s + 1, ids.begin() + s + t + 1);
  }
  return {from_vector(x, {batch, t}), from_vector(y, {batch * t})};
}

void run(const Args& args, Output& out) {
  const std::vector<std::string> kinds = recurrent_kinds(args.text("models"), args.op());
  const int64_t hidden = args.integer("hidden", 1, 4096);
  const int64_t steps = args.integer("steps", 1, 1000000);
  const int64_t t = args.integer("length", 2, 4096);
  const int64_t batch = args.integer("batch", 1, 65536);
  const double lr = args.number("lr", 1e-8, 10.0);
  const auto seed = static_cast<uint64_t>(args.integer("seed", 0, INT64_MAX));
  const std::string corpus_path =
      args.text("corpus").empty() ? course_data("mini_corpus.txt").string() : args.text("corpus");
  const std::string corpus = read_text_file(corpus_path, args.op());
  const CharTokenizer tokenizer = CharTokenizer::from_corpus(corpus);
  const std::vector<int64_t> ids = tokenizer.encode(corpus);
  KILN_CHECK(static_cast<int64_t>(ids.size()) > t + 2, args.op(),
             "{} has {} characters, fewer than --length {} + 2", corpus_path, ids.size(), t);
  const int64_t vocab = tokenizer.vocab_size();
  fmt::print(
      "next-character prediction on {} ({} characters, {} distinct); hidden {}, windows "
      "of {}, {} Adam steps\n",
      corpus_path, ids.size(), vocab, hidden, t, steps);

  Table curves{{"model", "step", "loss"}, {}};
  Table summary{{"model", "parameters", "first_loss", "final_loss"}, {}};
  for (const std::string& kind : kinds) {
    Generator gen(seed);
    models::Embedding embed(vocab, hidden, gen, 0.1);
    std::unique_ptr<models::RecurrentLayer> rnn =
        make_recurrent(kind, hidden, hidden, gen, args.op());
    models::Linear head(hidden, vocab, true, gen, 0.1);
    const models::NamedTensors params = parameters_of({&embed, rnn.get(), &head});
    int64_t count = 0;
    for (const auto& p : params) count += p.second.numel();
    train::AdamW optimizer(params, {lr, 0.9, 0.999, 1e-8, 0.0});
    std::mt19937_64 rng(seed);
    double first = 0, smoothed = 0;
    for (int64_t step = 1; step <= steps; ++step) {
      const auto [x, y] = windows(ids, batch, t, rng);
      const Tensor h = rnn->forward(embed.forward(x)).output;  // [B, t, H]
      const Tensor loss = cross_entropy(reshape(head.forward(h), {batch * t, vocab}), y);
      loss.backward();
      optimizer.step();
      optimizer.zero_grad();
      const double l = loss.item();
      if (step == 1) first = smoothed = l;
      smoothed = 0.9 * smoothed + 0.1 * l;
      curves.add({kind, std::to_string(step), cell(l)});
    }
    summary.add({kind, std::to_string(count), cell(first), cell(smoothed)});
    fmt::print("  {}: loss {:.3f} -> {:.3f} (smoothed over the last steps)\n", kind, first,
               smoothed);
  }
  summary.print();
  out.write_csv("summary.csv", summary);
  out.write_csv("loss_curves.csv", curves);
  out.plot("lstm", "lstm.png");
}

}  // namespace

Experiment lstm_experiment() {
  return {"lstm",
          "Fondamentaux: RNN, LSTM, GRU",
          "RNN, LSTM and GRU learn next-character prediction: loss curves",
          {{"models", "Recurrent networks, comma-separated", "rnn,lstm,gru", ""},
           {"hidden", "Embedding and hidden size", "64", "16"},
           {"steps", "Adam steps", "300", "10"},
           {"length", "Characters per training window", "32", "8"},
           {"batch", "Windows per step", "16", "4"},
           {"lr", "Adam learning rate", "0.01", ""},
           {"corpus", "Text file (default: course/data/mini_corpus.txt)", "", ""},
           {"seed", "Seeds weights and data", "0", ""}},
          run};
}

}  // namespace kiln::course
