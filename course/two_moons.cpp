#include "course/two_moons.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>

#include "core/ops.h"

namespace kiln::course {

Tensor Dataset::points_tensor() const {
  return from_vector(points, {size(), 2});
}
Tensor Dataset::labels_tensor() const {
  return from_vector(labels, {size()});
}

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

Mlp::Mlp(const std::vector<int64_t>& sizes, double dropout, Generator& generator)
    : dropout_(dropout), dropout_gen_(generator.seed() + 1) {
  for (size_t i = 0; i + 1 < sizes.size(); ++i) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(sizes[i]));
    Layer layer{rand({sizes[i + 1], sizes[i]}, {}, &generator, -bound, bound),
                rand({sizes[i + 1]}, {}, &generator, -bound, bound)};
    layer.weight.set_requires_grad(true);
    layer.bias.set_requires_grad(true);
    layers_.push_back(layer);
  }
}

Tensor Mlp::forward(const Tensor& input, bool training) const {
  Tensor x = input;
  for (size_t i = 0; i < layers_.size(); ++i) {
    x = linear(x, layers_[i].weight, layers_[i].bias);
    if (i + 1 < layers_.size()) {
      x = tanh(x);
      if (dropout_ > 0) x = dropout(x, dropout_, training, &dropout_gen_);
    }
  }
  return x;
}

std::vector<Tensor> Mlp::parameters() const {
  std::vector<Tensor> params;
  for (const Layer& layer : layers_) {
    params.push_back(layer.weight);
    params.push_back(layer.bias);
  }
  return params;
}

Score Mlp::score(const Dataset& d) const {
  NoGradGuard no_grad;
  const Tensor logits = forward(d.points_tensor(), false);
  const Tensor labels = d.labels_tensor();
  const auto predicted = argmax(logits, -1).to_vector<int64_t>();
  int64_t correct = 0;
  for (int64_t i = 0; i < d.size(); ++i) correct += predicted[i] == d.labels[i];
  return {cross_entropy(logits, labels).item(),
          static_cast<double>(correct) / static_cast<double>(d.size())};
}

std::vector<float> Mlp::grid_probabilities(double x0, double x1, double y0, double y1,
                                           int64_t steps) const {
  NoGradGuard no_grad;
  std::vector<float> points;
  for (int64_t i = 0; i < steps; ++i)
    for (int64_t j = 0; j < steps; ++j) {
      points.push_back(static_cast<float>(x0 + (x1 - x0) * j / (steps - 1)));
      points.push_back(static_cast<float>(y0 + (y1 - y0) * i / (steps - 1)));
    }
  const Tensor probs = softmax(forward(from_vector(points, {steps * steps, 2}), false));
  const auto p = probs.to_vector<float>();
  std::vector<float> p1(steps * steps);
  for (int64_t i = 0; i < steps * steps; ++i) p1[i] = p[2 * i + 1];
  return p1;
}

namespace {

// The rows `ids` of the dataset as a [len(ids), 2] tensor and their labels.
std::pair<Tensor, Tensor> batch(const Dataset& d, const std::vector<int64_t>& ids) {
  std::vector<float> points;
  std::vector<int64_t> labels;
  for (const int64_t i : ids) {
    points.push_back(d.points[2 * i]);
    points.push_back(d.points[2 * i + 1]);
    labels.push_back(d.labels[i]);
  }
  const auto n = static_cast<int64_t>(ids.size());
  return {from_vector(points, {n, 2}), from_vector(labels, {n})};
}

// v = momentum v + grad + weight_decay w (L2 on weights, not biases); w = w - lr v. No graph is
// recorded, and the new value is copied into the parameter's storage so that the model sees it.
void sgd_step(const std::vector<Tensor>& params, std::vector<Tensor>& velocity,
              const MlpOptions& o) {
  NoGradGuard no_grad;
  for (size_t i = 0; i < params.size(); ++i) {
    Tensor g = params[i].grad();
    if (o.weight_decay > 0 && params[i].dim() >= 2) g = g + params[i] * o.weight_decay;
    velocity[i] = velocity[i] * o.momentum + g;
    copy_(params[i], params[i] - velocity[i] * o.lr);
    params[i].zero_grad();
  }
}

}  // namespace

std::vector<EpochScores> train_mlp(Mlp& model, const Dataset& train, const Dataset& validation,
                                   const MlpOptions& options) {
  std::mt19937_64 rng(options.seed + 7);
  std::vector<int64_t> order(train.size());
  std::iota(order.begin(), order.end(), 0);
  const std::vector<Tensor> params = model.parameters();
  std::vector<Tensor> velocity;
  for (const Tensor& p : params) velocity.push_back(zeros(p.shape()));
  std::vector<EpochScores> history;
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    for (int64_t first = 0; first < train.size(); first += options.batch_size) {
      const int64_t last = std::min(first + options.batch_size, train.size());
      const auto [points, labels] =
          batch(train, std::vector<int64_t>(order.begin() + first, order.begin() + last));
      cross_entropy(model.forward(points, true), labels).backward();
      sgd_step(params, velocity, options);
    }
    history.push_back({epoch, model.score(train), model.score(validation)});
  }
  return history;
}

std::string grid_csv(const Mlp& model, const Dataset& d, int64_t steps) {
  float x0 = 1e9f, x1 = -1e9f, y0 = 1e9f, y1 = -1e9f;
  for (int64_t i = 0; i < d.size(); ++i) {
    x0 = std::min(x0, d.points[2 * i]), x1 = std::max(x1, d.points[2 * i]);
    y0 = std::min(y0, d.points[2 * i + 1]), y1 = std::max(y1, d.points[2 * i + 1]);
  }
  x0 -= 0.5f, x1 += 0.5f, y0 -= 0.5f, y1 += 0.5f;
  const std::vector<float> p = model.grid_probabilities(x0, x1, y0, y1, steps);
  std::string out = "x,y,p1\n";
  for (int64_t i = 0; i < steps; ++i)
    for (int64_t j = 0; j < steps; ++j)
      out += fmt::format("{:.4f},{:.4f},{:.4f}\n", x0 + (x1 - x0) * j / (steps - 1),
                         y0 + (y1 - y0) * i / (steps - 1), p[i * steps + j]);
  return out;
}

std::string points_csv(const Dataset& d) {
  std::string out = "x,y,label\n";
  for (int64_t i = 0; i < d.size(); ++i)
    out += fmt::format("{:.4f},{:.4f},{}\n", d.points[2 * i], d.points[2 * i + 1], d.labels[i]);
  return out;
}

}  // namespace kiln::course
