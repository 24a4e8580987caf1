// The course's first experiment: a small MLP learns to separate two interleaving half-moons.
// Every piece of a training loop is in plain sight: a seeded dataset, parameters as leaf
// tensors, a forward pass of kiln ops, cross-entropy, backward, and SGD with momentum applied
// in place under NoGradGuard (train/ will hold the real optimizers; here it is a few lines).
// Exits non-zero when the validation accuracy stays under 90%, so it doubles as a check that
// the ops and autograd underneath learn.
#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <numeric>
#include <random>
#include <vector>

#include "core/ops.h"

namespace {

constexpr int64_t kTrainPoints = 1000;
constexpr int64_t kValidationPoints = 500;
constexpr int64_t kBatchSize = 32;
constexpr double kMomentum = 0.9;
constexpr double kRequiredAccuracy = 0.9;

struct Dataset {
  std::vector<float> points;    // [n, 2], row-major
  std::vector<int64_t> labels;  // [n]: 0 for the upper moon, 1 for the lower one
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
};

// scikit-learn's make_moons: the upper moon is the unit half-circle, the lower one the same
// half-circle flipped and shifted by (1, 0.5) so that the two interleave and no straight line
// separates them; Gaussian noise blurs the border.
Dataset make_moons(int64_t n, double noise, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> angle(0.0, std::numbers::pi);
  std::normal_distribution<double> jitter(0.0, noise);
  Dataset d;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t label = i % 2;
    const double t = angle(rng);
    const double x = label == 0 ? std::cos(t) : 1.0 - std::cos(t);
    const double y = label == 0 ? std::sin(t) : 0.5 - std::sin(t);
    d.points.push_back(static_cast<float>(x + jitter(rng)));
    d.points.push_back(static_cast<float>(y + jitter(rng)));
    d.labels.push_back(label);
  }
  return d;
}

// The rows `ids` of the dataset as a [len(ids), 2] tensor and their labels.
std::pair<kiln::Tensor, kiln::Tensor> batch(const Dataset& d, const std::vector<int64_t>& ids) {
  std::vector<float> points;
  std::vector<int64_t> labels;
  for (const int64_t i : ids) {
    points.push_back(d.points[2 * i]);
    points.push_back(d.points[2 * i + 1]);
    labels.push_back(d.labels[i]);
  }
  const auto n = static_cast<int64_t>(ids.size());
  return {kiln::from_vector(points, {n, 2}), kiln::from_vector(labels, {n})};
}

struct Layer {
  kiln::Tensor weight;  // [out, in]
  kiln::Tensor bias;    // [out]
};

class Mlp {
 public:
  // PyTorch's nn.Linear initialisation: weights and biases uniform in ±1/sqrt(fan_in).
  Mlp(const std::vector<int64_t>& sizes, kiln::Generator& generator) {
    for (size_t i = 0; i + 1 < sizes.size(); ++i) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(sizes[i]));
      Layer layer{kiln::rand({sizes[i + 1], sizes[i]}, {}, &generator, -bound, bound),
                  kiln::rand({sizes[i + 1]}, {}, &generator, -bound, bound)};
      layer.weight.set_requires_grad(true);
      layer.bias.set_requires_grad(true);
      layers_.push_back(layer);
    }
  }

  // Logits [n, classes] for points [n, 2]; tanh between the layers.
  kiln::Tensor forward(kiln::Tensor x) const {
    for (size_t i = 0; i < layers_.size(); ++i) {
      x = kiln::linear(x, layers_[i].weight, layers_[i].bias);
      if (i + 1 < layers_.size()) x = kiln::tanh(x);
    }
    return x;
  }

  // Handles to the parameters: updating one updates the layer.
  std::vector<kiln::Tensor> parameters() const {
    std::vector<kiln::Tensor> params;
    for (const Layer& layer : layers_) {
      params.push_back(layer.weight);
      params.push_back(layer.bias);
    }
    return params;
  }

 private:
  std::vector<Layer> layers_;
};

// v = momentum * v + grad; p = p - lr * v. No graph is recorded, and the new value is copied
// into the parameter's storage so that the model sees it.
void sgd_step(const std::vector<kiln::Tensor>& params, std::vector<kiln::Tensor>& velocity,
              double lr) {
  kiln::NoGradGuard no_grad;
  for (size_t i = 0; i < params.size(); ++i) {
    velocity[i] = velocity[i] * kMomentum + params[i].grad();
    kiln::copy_(params[i], params[i] - velocity[i] * lr);
    params[i].zero_grad();
  }
}

double accuracy(const Mlp& model, const kiln::Tensor& points, const Dataset& d) {
  kiln::NoGradGuard no_grad;
  const auto predicted = kiln::argmax(model.forward(points), -1).to_vector<int64_t>();
  int64_t correct = 0;
  for (int64_t i = 0; i < d.size(); ++i) correct += predicted[i] == d.labels[i];
  return static_cast<double>(correct) / static_cast<double>(d.size());
}

int train(int epochs, uint64_t seed, double lr, double noise) {
  const auto start = std::chrono::steady_clock::now();
  std::mt19937_64 rng(seed);
  const Dataset train_set = make_moons(kTrainPoints, noise, rng);
  const Dataset val_set = make_moons(kValidationPoints, noise, rng);
  const kiln::Tensor train_points = kiln::from_vector(train_set.points, {kTrainPoints, 2});
  const kiln::Tensor val_points = kiln::from_vector(val_set.points, {kValidationPoints, 2});
  std::vector<int64_t> order(kTrainPoints);
  std::iota(order.begin(), order.end(), 0);

  kiln::Generator generator(seed);
  const Mlp model({2, 32, 32, 2}, generator);
  const std::vector<kiln::Tensor> params = model.parameters();
  std::vector<kiln::Tensor> velocity;
  for (const kiln::Tensor& p : params) velocity.push_back(kiln::zeros(p.shape()));

  fmt::print(
      "two moons: {} train / {} validation points, noise {}; MLP 2-32-32-2 (tanh); SGD lr {} "
      "momentum {}, batch {}, {} epochs\n",
      kTrainPoints, kValidationPoints, noise, lr, kMomentum, kBatchSize, epochs);
  const int report_every = std::max(1, epochs / 10);
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    double loss_sum = 0.0;
    for (int64_t first = 0; first < kTrainPoints; first += kBatchSize) {
      const int64_t last = std::min(first + kBatchSize, kTrainPoints);
      const auto [points, labels] =
          batch(train_set, std::vector<int64_t>(order.begin() + first, order.begin() + last));
      const kiln::Tensor loss = kiln::cross_entropy(model.forward(points), labels);
      loss.backward();
      sgd_step(params, velocity, lr);
      loss_sum += loss.item() * static_cast<double>(last - first);
    }
    if (epoch % report_every == 0 || epoch == epochs) {
      fmt::print("epoch {:4d}  loss {:.4f}  train acc {:5.1f}%  val acc {:5.1f}%\n", epoch,
                 loss_sum / kTrainPoints, 100 * accuracy(model, train_points, train_set),
                 100 * accuracy(model, val_points, val_set));
    }
  }

  const double train_acc = accuracy(model, train_points, train_set);
  const double val_acc = accuracy(model, val_points, val_set);
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  fmt::print("final: train acc {:.1f}%, validation acc {:.1f}% (needs >= {:.0f}%), {:.2f} s\n",
             100 * train_acc, 100 * val_acc, 100 * kRequiredAccuracy, elapsed.count());
  if (val_acc < kRequiredAccuracy) {
    fmt::print(stderr, "two_moons: validation accuracy {:.1f}% is below {:.0f}%\n", 100 * val_acc,
               100 * kRequiredAccuracy);
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Trains a 2-32-32-2 MLP on the two-moons dataset with kiln's ops and autograd."};
  int epochs = 60;
  int64_t seed = 0;
  double lr = 0.05;
  double noise = 0.15;
  app.add_option("--epochs", epochs, "passes over the training set")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--seed", seed, "seeds the data, the initial weights and the batch order")
      ->check(CLI::Range(int64_t{0}, std::numeric_limits<int64_t>::max()))
      ->capture_default_str();
  app.add_option("--lr", lr, "SGD learning rate")
      ->check(CLI::Range(1e-6, 10.0))
      ->capture_default_str();
  app.add_option("--noise", noise, "standard deviation of the noise added to the points")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    fmt::print(stderr, "two_moons: {} (see --help)\n", e.what());
    return 2;
  }
  try {
    return train(epochs, static_cast<uint64_t>(seed), lr, noise);
  } catch (const kiln::Error& e) {
    fmt::print(stderr, "two_moons: {}\n", e.what());
    return 1;
  }
}
