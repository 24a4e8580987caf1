#include "course/scaling_experiment.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <tuple>

#include "core/ops.h"
#include "models/rnn.h"

#ifdef KILN_CUDA
#include "core/cuda/runtime.h"
#endif
#ifdef KILN_CUDNN
#include "models/cuda/cudnn_lstm.h"
#endif

namespace kiln::course {
namespace {

// The T x T path: scores, softmax, weighted sum, each a separate op with the whole score
// matrix in memory between them.
Tensor naive_attention(const Tensor& q, const Tensor& k, const Tensor& v, double scale) {
  AttentionOptions options;
  options.scale = scale;
  options.impl = AttentionImpl::naive;
  return scaled_dot_product_attention(q, k, v, options);
}

// With automatic repeats, the timed calls of one point take about this long.
constexpr double kAutoMilliseconds = 200.0;

struct Method {
  std::string name;
  std::string implementation;
  double growth;  // the exponent of T in the method's cost, for predicting the next T
  std::function<Tensor(const Tensor&)> forward;
};

// The four blocks, with weights on the device. Each maps x [B, T, C] to [B, T, C].
class Blocks {
 public:
  explicit Blocks(const ScalingConfig& c) : gen_(c.seed) {
    const int64_t C = c.width;
    rnn_ = std::make_unique<models::RNN>(C, C, gen_);
    lstm_ = std::make_unique<models::LSTM>(C, C, gen_);
    w_qkv_ = randn({3 * C, C}, {}, &gen_, 0.0, 1.0 / std::sqrt(static_cast<double>(C)));
    rnn_->to(c.device);
    lstm_->to(c.device);
    w_qkv_ = w_qkv_.to(c.device);
#ifdef KILN_CUDNN
    if (c.device.is_cuda())
      cudnn_lstm_ = std::make_unique<models::cuda::CudnnLSTM>(*lstm_, c.device.index);
#endif
  }

  std::vector<Method> methods() const {
    std::vector<Method> out;
    out.push_back(
        {"rnn", "kiln", 1.0, [this](const Tensor& x) { return rnn_->forward(x).output; }});
    bool cudnn = false;
#ifdef KILN_CUDNN
    if (cudnn_lstm_) {
      out.push_back(
          {"lstm", "cudnn", 1.0, [this](const Tensor& x) { return cudnn_lstm_->forward(x); }});
      cudnn = true;
    }
#endif
    if (!cudnn)
      out.push_back(
          {"lstm", "kiln", 1.0, [this](const Tensor& x) { return lstm_->forward(x).output; }});
    out.push_back({"attention_naive", "kiln", 2.0, [this](const Tensor& x) {
                     const auto [q, k, v] = project(x);
                     return naive_attention(q, k, v, scale(x));
                   }});
    out.push_back({"attention_fused", "kiln", 2.0, [this](const Tensor& x) {
                     const auto [q, k, v] = project(x);
                     return scaled_dot_product_attention(q, k, v, false, scale(x));
                   }});
    return out;
  }

 private:
  // One head of width C: [B, 1, T, C] each, from one [C, 3C] projection.
  std::tuple<Tensor, Tensor, Tensor> project(const Tensor& x) const {
    const std::vector<Tensor> qkv = split(unsqueeze(linear(x, w_qkv_), 1), x.size(-1), -1);
    return {qkv[0], qkv[1], qkv[2]};
  }
  static double scale(const Tensor& x) {
    return 1.0 / std::sqrt(static_cast<double>(x.size(-1)));
  }

  Generator gen_;
  std::unique_ptr<models::RNN> rnn_;
  std::unique_ptr<models::LSTM> lstm_;
  Tensor w_qkv_;
#ifdef KILN_CUDNN
  std::unique_ptr<models::cuda::CudnnLSTM> cudnn_lstm_;
#endif
};

void wait_for(const Device& device) {
#ifdef KILN_CUDA
  if (device.is_cuda()) kiln::cuda::synchronize(device.index);
#else
  (void)device;
#endif
}

double milliseconds_of(const std::function<Tensor(const Tensor&)>& forward, const Tensor& x) {
  wait_for(x.device());
  const auto start = std::chrono::steady_clock::now();
  const Tensor y = forward(x);
  wait_for(x.device());
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// Where a method stands as T grows: the last T it ran at, or why it stopped.
struct Progress {
  int64_t last_t = 0;
  double last_ms = 0.0;
  std::string stopped;
};

ScalingPoint measure(const Method& m, Progress& p, const ScalingConfig& c, const Tensor& x,
                     int64_t t) {
  ScalingPoint point{m.name, m.implementation, t, {}, {}, 0, {}};
  if (!p.stopped.empty()) {
    point.note = p.stopped;
    return point;
  }
  if (p.last_t > 0) {
    const double predicted_s =
        p.last_ms / 1000.0 *
        std::pow(static_cast<double>(t) / static_cast<double>(p.last_t), m.growth);
    if (predicted_s > c.budget_seconds) {
      p.stopped = fmt::format("over budget from T={} (predicted {:.2g} s per call > {:g} s)", t,
                              predicted_s, c.budget_seconds);
      point.note = p.stopped;
      return point;
    }
  }
  try {
    // The warm-up call fills allocator pools, starts BLAS threads and builds cuDNN plans.
    const double warm_up_ms = milliseconds_of(m.forward, x);
    const int repeats =
        c.repeats > 0 ? c.repeats
                      : static_cast<int>(std::clamp(kAutoMilliseconds / warm_up_ms, 3.0, 100.0));
    std::vector<double> times;
    for (int r = 0; r < repeats; ++r) times.push_back(milliseconds_of(m.forward, x));
    std::sort(times.begin(), times.end());
    const size_t n = times.size();
    point.median_ms = n % 2 == 1 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
    point.min_ms = times.front();
    point.repeats = repeats;
    p.last_t = t;
    p.last_ms = *point.median_ms;
  } catch (const Error& e) {
    p.stopped = fmt::format("failed at T={}: {}", t, e.what());
    point.note = p.stopped;
  }
  return point;
}

// CSV fields here are words, numbers and kiln's one-line messages: quote those that need it.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string out = "\"";
  for (const char ch : text) {
    if (ch == '"') out += '"';
    out += ch == '\n' ? ' ' : ch;
  }
  return out + "\"";
}

}  // namespace

std::vector<int64_t> scaling_lengths(int64_t min_t, int64_t max_t) {
  std::vector<int64_t> out;
  for (int64_t t = min_t; t <= max_t; t *= 2) out.push_back(t);
  if (out.empty() || out.back() != max_t) out.push_back(max_t);
  return out;
}

std::vector<std::string> scaling_methods() {
  return {"rnn", "lstm", "attention_naive", "attention_fused"};
}

std::vector<ScalingPoint> run_scaling_experiment(
    const ScalingConfig& config,
    const std::function<void(int64_t, const std::vector<ScalingPoint>&)>& on_row) {
  NoGradGuard no_grad;
  const Blocks blocks(config);
  const std::vector<Method> methods = blocks.methods();
  std::vector<Progress> progress(methods.size());
  Generator data_gen(config.seed + 1);
  std::vector<ScalingPoint> all;
  for (const int64_t t : scaling_lengths(config.min_t, config.max_t)) {
    const Tensor x = randn({config.batch, t, config.width}, {}, &data_gen).to(config.device);
    std::vector<ScalingPoint> row;
    for (size_t i = 0; i < methods.size(); ++i)
      row.push_back(measure(methods[i], progress[i], config, x, t));
    if (on_row) on_row(t, row);
    all.insert(all.end(), row.begin(), row.end());
  }
  return all;
}

std::string scaling_csv(const ScalingConfig& config, const std::vector<ScalingPoint>& points) {
  std::string out = "device,width,batch,method,implementation,T,median_ms,min_ms,repeats,note\n";
  for (const ScalingPoint& p : points)
    out += fmt::format(
        "{},{},{},{},{},{},{},{},{},{}\n", config.device.str(), config.width, config.batch,
        p.method, p.implementation, p.t, p.median_ms ? fmt::format("{:.6g}", *p.median_ms) : "",
        p.min_ms ? fmt::format("{:.6g}", *p.min_ms) : "", p.repeats, csv_field(p.note));
  return out;
}

}  // namespace kiln::course
