// Experiment 1: how the amount of training data changes generalisation. The same MLP is trained
// on 100, 500, 1000 two-moons points (--sizes) and scored on one fixed validation set: with few
// points the training loss is low and the validation loss high (over-fitting); the gap closes
// as the data grows.
#include <fmt/core.h>

#include "course/experiments.h"
#include "course/two_moons.h"

namespace kiln::course {
namespace {

void run(const Args& args, Output& out) {
  const std::vector<int64_t> sizes = args.integers("sizes", 4, 1000000);
  MlpOptions options;
  options.epochs = static_cast<int>(args.integer("epochs", 1, 100000));
  options.hidden = args.integers("hidden", 1, 4096);
  options.seed = static_cast<uint64_t>(args.integer("seed", 0, INT64_MAX));
  const double noise = args.number("noise", 0.0, 1.0);

  std::mt19937_64 rng(options.seed);
  const Dataset validation = make_moons(args.integer("validation", 10, 1000000), noise, rng);
  fmt::print("Experiment 1: MLP 2-{}-2 on two moons (noise {}), {} epochs, validation {} points\n",
             fmt::join(options.hidden, "-"), noise, options.epochs, validation.size());
  Table table{{"train_size", "train_loss", "train_acc", "val_loss", "val_acc"}, {}};
  for (const int64_t n : sizes) {
    std::mt19937_64 data_rng(options.seed * 1000 + static_cast<uint64_t>(n));
    const Dataset train = make_moons(n, noise, data_rng);
    std::vector<int64_t> layer_sizes{2};
    layer_sizes.insert(layer_sizes.end(), options.hidden.begin(), options.hidden.end());
    layer_sizes.push_back(2);
    Generator generator(options.seed);
    Mlp model(layer_sizes, 0.0, generator);
    MlpOptions sized = options;
    sized.batch_size = std::min<int64_t>(32, n);
    const EpochScores last = train_mlp(model, train, validation, sized).back();
    fmt::print("  {} points: train acc {:.3f}, validation acc {:.3f}\n", n, last.train.accuracy,
               last.validation.accuracy);
    table.add({std::to_string(n), cell(last.train.loss), cell(last.train.accuracy),
               cell(last.validation.loss), cell(last.validation.accuracy)});
  }
  table.print();
  out.write_csv("learning_curves.csv", table);
  out.plot("learning_curves", "learning_curves.png");
}

}  // namespace

Experiment learning_curves_experiment() {
  return {"learning-curves",
          "Expérience 1: courbes d'apprentissage",
          "Train/validation loss and accuracy against the training-set size",
          {{"sizes", "Training-set sizes, comma-separated", "100,500,1000", "50,200"},
           {"epochs", "Passes over each training set", "200", "20"},
           {"hidden", "Hidden layer widths", "64,64", "16"},
           {"noise", "Noise on the points", "0.3", ""},
           {"validation", "Validation points", "1000", "200"},
           {"seed", "Seeds data and weights", "0", ""}},
          run};
}

}  // namespace kiln::course
