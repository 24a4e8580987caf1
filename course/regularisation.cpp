// Experiment 2: what regularisation does to a model with too much capacity for its data. A wide
// MLP sees few noisy two-moons points under three settings: none, L2 weight decay, dropout.
// Without regularisation the training loss keeps falling while the validation loss turns up and
// the boundary wraps around single points; L2 and dropout keep it smoother.
#include <fmt/core.h>

#include "course/experiments.h"
#include "course/two_moons.h"

namespace kiln::course {
namespace {

struct Setting {
  std::string name;
  double weight_decay;
  double dropout;
};

void run(const Args& args, Output& out) {
  MlpOptions base;
  base.epochs = static_cast<int>(args.integer("epochs", 1, 100000));
  base.hidden = args.integers("hidden", 1, 4096);
  base.lr = args.number("lr", 1e-6, 10.0);
  base.seed = static_cast<uint64_t>(args.integer("seed", 0, INT64_MAX));
  const double noise = args.number("noise", 0.0, 1.0);
  const std::vector<Setting> settings = {
      {"none", 0.0, 0.0},
      {"l2", args.number("weight-decay", 0.0, 10.0), 0.0},
      {"dropout", 0.0, args.number("dropout", 0.0, 0.95)},
  };

  std::mt19937_64 rng(base.seed);
  const Dataset train = make_moons(args.integer("points", 4, 1000000), noise, rng);
  const Dataset validation = make_moons(1000, noise, rng);
  fmt::print("Experiment 2: MLP 2-{}-2 on {} noisy points (noise {}), {} epochs\n",
             fmt::join(base.hidden, "-"), train.size(), noise, base.epochs);
  Table curves{{"setting", "epoch", "train_loss", "val_loss", "train_acc", "val_acc"}, {}};
  Table summary{
      {"setting", "weight_decay", "dropout", "train_loss", "val_loss", "train_acc", "val_acc"}, {}};
  std::vector<int64_t> sizes{2};
  sizes.insert(sizes.end(), base.hidden.begin(), base.hidden.end());
  sizes.push_back(2);
  for (const Setting& s : settings) {
    MlpOptions options = base;
    options.weight_decay = s.weight_decay;
    options.dropout = s.dropout;
    Generator generator(base.seed);
    Mlp model(sizes, s.dropout, generator);
    const std::vector<EpochScores> history = train_mlp(model, train, validation, options);
    for (const EpochScores& e : history)
      curves.add({s.name, std::to_string(e.epoch), cell(e.train.loss), cell(e.validation.loss),
                  cell(e.train.accuracy), cell(e.validation.accuracy)});
    const EpochScores& last = history.back();
    summary.add({s.name, cell(s.weight_decay, 6), cell(s.dropout, 2), cell(last.train.loss),
                 cell(last.validation.loss), cell(last.train.accuracy),
                 cell(last.validation.accuracy)});
    out.write("grid_" + s.name + ".csv", grid_csv(model, train, 80));
  }
  summary.print();
  out.write_csv("summary.csv", summary);
  out.write_csv("curves.csv", curves);
  out.write("points.csv", points_csv(train));
  out.plot("regularisation", "regularisation.png");
}

}  // namespace

Experiment regularisation_experiment() {
  return {"regularisation",
          "Expérience 2: effet de la régularisation",
          "No regularisation vs L2 vs dropout: loss curves and decision boundaries",
          {{"weight-decay", "L2 coefficient of the second setting", "1e-4", ""},
           {"dropout", "Dropout probability of the third setting", "0.5", ""},
           {"epochs", "Passes over the training set", "500", "15"},
           {"hidden", "Hidden layer widths", "128,128", "16,16"},
           {"points", "Training points (few, so that the model can over-fit)", "40", "30"},
           {"noise", "Noise on the points", "0.3", ""},
           {"lr", "SGD learning rate", "0.01", ""},
           {"seed", "Seeds data and weights", "0", ""}},
          run};
}

}  // namespace kiln::course
