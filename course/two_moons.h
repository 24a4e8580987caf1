#pragma once
// The course's first supervised model, shared by `mlp`, `learning-curves` and `regularisation`:
// scikit-learn's two-moons data, a small tanh MLP built from kiln's ops, and a training loop in
// plain sight (SGD with momentum, optional L2 weight decay and dropout).
#include <cstdint>
#include <random>
#include <vector>

#include "core/random.h"
#include "core/tensor.h"

namespace kiln::course {

struct Dataset {
  std::vector<float> points;    // [n, 2], row-major
  std::vector<int64_t> labels;  // [n]: 0 for the upper moon, 1 for the lower one
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  Tensor points_tensor() const;
  Tensor labels_tensor() const;
};

// scikit-learn's make_moons: the upper moon is the unit half-circle, the lower one the same
// half-circle flipped and shifted by (1, 0.5), so that no straight line separates them;
// Gaussian noise blurs the border.
Dataset make_moons(int64_t n, double noise, std::mt19937_64& rng);

struct MlpOptions {
  std::vector<int64_t> hidden = {32, 32};
  int epochs = 60;
  int64_t batch_size = 32;
  double lr = 0.05;
  double momentum = 0.9;
  double weight_decay = 0.0;  // L2: adds weight_decay * w to the gradient of every weight
  double dropout = 0.0;       // on the hidden activations, during training only
  uint64_t seed = 0;
};

// Loss and accuracy of one pass over a dataset.
struct Score {
  double loss = 0;
  double accuracy = 0;
};

struct EpochScores {
  int epoch = 0;
  Score train;
  Score validation;
};

class Mlp {
 public:
  // sizes: {2, hidden..., 2}. PyTorch's nn.Linear initialisation: U(±1/sqrt(fan_in)).
  Mlp(const std::vector<int64_t>& sizes, double dropout, Generator& generator);
  // Logits [n, 2] for points [n, 2]; tanh (then dropout, when training) between layers.
  Tensor forward(const Tensor& x, bool training) const;
  std::vector<Tensor> parameters() const;
  Score score(const Dataset& d) const;
  // P(class 1) on a grid x in [x0, x1], y in [y0, y1], `steps` points a side, row by row.
  std::vector<float> grid_probabilities(double x0, double x1, double y0, double y1,
                                        int64_t steps) const;

 private:
  struct Layer {
    Tensor weight;  // [out, in]
    Tensor bias;    // [out]
  };
  std::vector<Layer> layers_;
  double dropout_;
  mutable Generator dropout_gen_;
};

// Trains `model` on `train` with mini-batch SGD, scoring both sets after every epoch.
std::vector<EpochScores> train_mlp(Mlp& model, const Dataset& train, const Dataset& validation,
                                   const MlpOptions& options);

// The decision boundary of `model` over the data's bounding box as a CSV (x,y,p1), for the
// plot script, and the points themselves (x,y,label).
std::string grid_csv(const Mlp& model, const Dataset& d, int64_t steps);
std::string points_csv(const Dataset& d);

}  // namespace kiln::course
