// The slides' Mini-MLP demonstration: a 2-32-32-2 tanh MLP learns to separate two interleaving
// half-moons. The table is the learning curve; the picture is the decision boundary. It fails
// (non-zero exit) when the validation accuracy stays under --min-accuracy, so a short run also
// checks that kiln's ops, autograd and update rule learn.
#include <fmt/core.h>

#include "core/error.h"
#include "course/experiments.h"
#include "course/two_moons.h"

namespace kiln::course {
namespace {

void run(const Args& args, Output& out) {
  MlpOptions options;
  options.epochs = static_cast<int>(args.integer("epochs", 1, 100000));
  options.lr = args.number("lr", 1e-6, 10.0);
  options.hidden = args.integers("hidden", 1, 4096);
  options.seed = static_cast<uint64_t>(args.integer("seed", 0, INT64_MAX));
  const double noise = args.number("noise", 0.0, 1.0);
  const int64_t points = args.integer("points", 10, 1000000);
  const double min_accuracy = args.number("min-accuracy", 0.0, 1.0);

  std::mt19937_64 rng(options.seed);
  const Dataset train = make_moons(points, noise, rng);
  const Dataset validation = make_moons(points / 2, noise, rng);
  std::vector<int64_t> sizes{2};
  sizes.insert(sizes.end(), options.hidden.begin(), options.hidden.end());
  sizes.push_back(2);
  Generator generator(options.seed);
  Mlp model(sizes, 0.0, generator);
  fmt::print(
      "two moons: {} train / {} validation points, noise {}; MLP 2-{}-2 (tanh); SGD lr {} "
      "momentum {}, batch {}, {} epochs\n",
      train.size(), validation.size(), noise, fmt::join(options.hidden, "-"), options.lr,
      options.momentum, options.batch_size, options.epochs);

  const std::vector<EpochScores> history = train_mlp(model, train, validation, options);
  Table table{{"epoch", "train_loss", "train_acc", "val_loss", "val_acc"}, {}};
  for (const EpochScores& e : history)
    table.add({std::to_string(e.epoch), cell(e.train.loss), cell(e.train.accuracy),
               cell(e.validation.loss), cell(e.validation.accuracy)});
  Table shown{table.header, {}};
  const size_t every = std::max<size_t>(1, history.size() / 10);
  for (size_t i = 0; i < table.rows.size(); ++i)
    if ((i + 1) % every == 0 || i + 1 == table.rows.size()) shown.add(table.rows[i]);
  shown.print();
  out.write_csv("history.csv", table);
  out.write("grid.csv", grid_csv(model, validation, 80));
  out.write("points.csv", points_csv(validation));
  out.plot("mlp", "mlp.png");

  const double val_acc = history.back().validation.accuracy;
  fmt::print("final validation accuracy {:.1f}% (needs >= {:.0f}%)\n", 100 * val_acc,
             100 * min_accuracy);
  KILN_CHECK(val_acc >= min_accuracy, args.op(), "validation accuracy {:.1f}% is below {:.0f}%",
             100 * val_acc, 100 * min_accuracy);
}

}  // namespace

Experiment mlp_experiment() {
  return {"mlp",
          "Fondamentaux: modèle supervisé (Mini-MLP)",
          "An MLP learns two moons: learning curve and decision boundary",
          {{"epochs", "Passes over the training set", "60", "20"},
           {"lr", "SGD learning rate", "0.05", ""},
           {"hidden", "Hidden layer widths, comma-separated", "32,32", ""},
           {"noise", "Standard deviation of the noise on the points", "0.15", ""},
           {"points", "Training points (validation: half as many)", "1000", ""},
           {"seed", "Seeds the data, the weights and the batch order", "0", "1"},
           {"min-accuracy", "Fail when the final validation accuracy is below this", "0.9", ""}},
          run};
}

}  // namespace kiln::course
