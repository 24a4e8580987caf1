// AdamW and SGD against references written here in plain doubles, against torch.optim numbers
// (tests/train/fixtures, from scripts/make_optimizer_fixture.py), and through checkpoints.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/ops.h"
#include "core/safetensors.h"
#include "train/adamw.h"
#include "train/lr_schedule.h"
#include "train/sgd.h"

namespace kiln::train {
namespace {

using Values = std::vector<double>;

Tensor make_param(const Values& values, const Shape& shape, DType dtype = DType::f64) {
  Tensor t = from_vector<double>(values, shape).to(dtype);
  t.set_requires_grad(true);
  return t;
}

void set_grad(const Tensor& param, const Values& values) {
  param.set_grad(from_vector<double>(values, param.shape()).to(param.dtype()));
}

// A deterministic gradient for parameter `p` at `step`, of mixed sign and scale.
Values synthetic_grad(int64_t n, int step, int p) {
  Values g(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    g[static_cast<size_t>(i)] = std::sin(1.3 * static_cast<double>(i + 1) + 0.7 * step + p) *
                                std::pow(10.0, static_cast<double>((i + step) % 4) - 2.0);
  return g;
}

double max_abs_diff(const Values& a, const Values& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

// The textbook AdamW of Loshchilov & Hutter in torch's decoupled form, one parameter at a time.
struct ReferenceAdamW {
  double lr, beta1, beta2, eps, weight_decay;
  std::vector<Values> m, v;
  int t = 0;

  void step(std::vector<Values>& params, const std::vector<Values>& grads,
            const std::vector<bool>& decay) {
    ++t;
    m.resize(params.size());
    v.resize(params.size());
    for (size_t p = 0; p < params.size(); ++p) {
      m[p].resize(params[p].size(), 0.0);
      v[p].resize(params[p].size(), 0.0);
      for (size_t i = 0; i < params[p].size(); ++i) {
        const double g = grads[p][i];
        if (decay[p]) params[p][i] -= lr * weight_decay * params[p][i];
        m[p][i] = beta1 * m[p][i] + (1 - beta1) * g;
        v[p][i] = beta2 * v[p][i] + (1 - beta2) * g * g;
        const double m_hat = m[p][i] / (1 - std::pow(beta1, t));
        const double v_hat = v[p][i] / (1 - std::pow(beta2, t));
        params[p][i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
      }
    }
  }
};

struct ReferenceSGD {
  double lr, momentum, weight_decay;
  bool nesterov;
  std::vector<Values> buf;

  void step(std::vector<Values>& params, const std::vector<Values>& grads,
            const std::vector<bool>& decay) {
    const bool first = buf.empty();
    buf.resize(params.size());
    for (size_t p = 0; p < params.size(); ++p) {
      for (size_t i = 0; i < params[p].size(); ++i) {
        double d = grads[p][i] + (decay[p] ? weight_decay * params[p][i] : 0.0);
        if (momentum != 0) {
          if (first)
            buf[p].push_back(d);
          else
            buf[p][i] = momentum * buf[p][i] + d;
          d = nesterov ? d + momentum * buf[p][i] : buf[p][i];
        }
        params[p][i] -= lr * d;
      }
    }
  }
};

// Parameters of several ranks: a matrix, a bias, a 3-D tensor and a scalar.
struct ParamSet {
  models::NamedTensors named;
  std::vector<Values> values;
  std::vector<bool> decay;  // what kiln should do: dim >= 2

  explicit ParamSet(DType dtype) {
    add("w", {3, 4}, dtype);
    add("b", {5}, dtype);
    add("conv", {2, 1, 3}, dtype);
    add("scale", {}, dtype);
  }
  void add(const std::string& name, const Shape& shape, DType dtype) {
    const int64_t n = shape_numel(shape);
    Values v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      v[static_cast<size_t>(i)] = std::cos(0.9 * static_cast<double>(i) + named.size()) * 1.5;
    named.emplace_back(name, make_param(v, shape, dtype));
    values.push_back(v);
    decay.push_back(shape.size() >= 2);
  }
  std::vector<Values> grads_at(int step) const {
    std::vector<Values> out;
    for (size_t p = 0; p < named.size(); ++p)
      out.push_back(
          synthetic_grad(static_cast<int64_t>(values[p].size()), step, static_cast<int>(p)));
    return out;
  }
  void set_grads(const std::vector<Values>& grads) const {
    for (size_t p = 0; p < named.size(); ++p) set_grad(named[p].second, grads[p]);
  }
};

class AdamWReference : public ::testing::TestWithParam<double> {};

TEST_P(AdamWReference, MatchesPlainDoubleAdamWOverSeveralSteps) {
  const double weight_decay = GetParam();
  for (const DType dtype : {DType::f64, DType::f32}) {
    ParamSet set(dtype);
    AdamWOptions options{1e-2, 0.9, 0.95, 1e-8, weight_decay};
    AdamW adamw(set.named, options);
    ReferenceAdamW ref{options.lr, options.beta1, options.beta2, options.eps, weight_decay, {}, {}};
    std::vector<Values> expected = set.values;
    for (int step = 0; step < 7; ++step) {
      const std::vector<Values> grads = set.grads_at(step);
      set.set_grads(grads);
      adamw.step();
      ref.step(expected, grads, set.decay);
    }
    EXPECT_EQ(adamw.step_count(), 7);
    const double tolerance = dtype == DType::f64 ? 1e-13 : 2e-6;
    for (size_t p = 0; p < set.named.size(); ++p)
      EXPECT_LT(max_abs_diff(set.named[p].second.to_vector<double>(), expected[p]), tolerance)
          << set.named[p].first << " " << dtype_name(dtype);
  }
}

INSTANTIATE_TEST_SUITE_P(WeightDecay, AdamWReference, ::testing::Values(0.0, 0.1, 0.5));

TEST(AdamW, FirstStepMovesEachParameterByLrTimesSignOfGrad) {
  Tensor p = make_param({1, -2, 3, 0.5, 7, -1}, {6});
  set_grad(p, {0.3, -4e-3, 20, -1e-4, 5, -0.9});
  AdamW adamw({{"p", p}}, {0.01, 0.9, 0.999, 1e-8, 0.0});
  adamw.step();
  const Values expected{1 - 0.01, -2 + 0.01, 3 - 0.01, 0.5 + 0.01, 7 - 0.01, -1 + 0.01};
  // m_hat / sqrt(v_hat) = g / |g| on the first step; eps shifts it by at most eps / |g|.
  EXPECT_LT(max_abs_diff(p.to_vector<double>(), expected), 0.01 * 1e-8 / 1e-4 * 1.01);
}

TEST(AdamW, WeightDecayOnlyShrinksParametersOfTwoOrMoreDims) {
  // With zero gradients the Adam update is 0, so only the decay p *= 1 - lr * wd acts.
  ParamSet set(DType::f64);
  AdamW adamw(set.named, {0.1, 0.9, 0.95, 1e-8, 0.5});
  for (int step = 0; step < 3; ++step) {
    for (const auto& [name, p] : set.named)
      set_grad(p, Values(static_cast<size_t>(p.numel()), 0.0));
    adamw.step();
  }
  for (size_t p = 0; p < set.named.size(); ++p) {
    Values expected = set.values[p];
    for (double& v : expected) v *= set.decay[p] ? std::pow(1 - 0.1 * 0.5, 3) : 1.0;
    EXPECT_LT(max_abs_diff(set.named[p].second.to_vector<double>(), expected), 1e-15)
        << set.named[p].first;
  }
}

// The fixtures hold torch.optim runs with per-step learning rates; kiln replays the gradients.
nlohmann::json read_fixture(const std::string& file) {
  std::ifstream in(std::filesystem::path(KILN_TRAIN_FIXTURES) / file);
  EXPECT_TRUE(in.good()) << file;
  return nlohmann::json::parse(in);
}

using MakeOptimizer = std::function<std::unique_ptr<Optimizer>(const models::NamedTensors&,
                                                               const nlohmann::json& options)>;

void replay_fixture(const nlohmann::json& run, DType dtype, double tolerance,
                    const MakeOptimizer& make_optimizer) {
  models::NamedTensors named;
  for (const std::string name : {"weight", "bias"}) {
    const Shape shape = run["shapes"][name].get<Shape>();
    named.emplace_back(name, make_param(run["initial"][name].get<Values>(), shape, dtype));
  }
  auto optimizer = make_optimizer(named, run["options"]);
  const auto lrs = run["lrs"].get<Values>();
  for (size_t step = 0; step < lrs.size(); ++step) {
    optimizer->set_lr(lrs[step]);
    for (const auto& [name, p] : named) set_grad(p, run["grads"][step][name].get<Values>());
    optimizer->step();
    for (const auto& [name, p] : named)
      EXPECT_LT(max_abs_diff(p.to_vector<double>(), run["expected"][step][name].get<Values>()),
                tolerance)
          << name << " after step " << step + 1 << " (" << dtype_name(dtype) << ")";
  }
}

TEST(AdamW, MatchesTorchOptimAdamW) {
  const nlohmann::json fixture = read_fixture("adamw_reference.json");
  ASSERT_EQ(fixture["runs"].size(), 2u);
  for (const auto& run : fixture["runs"]) {
    for (const auto& [dtype, tolerance] : {std::pair{DType::f64, 1e-14}, {DType::f32, 1e-6}}) {
      replay_fixture(
          run, dtype, tolerance, [](const models::NamedTensors& named, const nlohmann::json& o) {
            return std::make_unique<AdamW>(
                named, AdamWOptions{0.0, o["beta1"], o["beta2"], o["eps"], o["weight_decay"]});
          });
    }
  }
}

TEST(SGD, MatchesTorchOptimSGD) {
  const nlohmann::json fixture = read_fixture("sgd_reference.json");
  ASSERT_EQ(fixture["runs"].size(), 3u);
  for (const auto& run : fixture["runs"]) {
    for (const auto& [dtype, tolerance] : {std::pair{DType::f64, 1e-14}, {DType::f32, 1e-5}}) {
      replay_fixture(run, dtype, tolerance,
                     [](const models::NamedTensors& named, const nlohmann::json& o) {
                       return std::make_unique<SGD>(
                           named, SGDOptions{0.0, o["momentum"], o["weight_decay"], o["nesterov"]});
                     });
    }
  }
}

TEST(SGD, MatchesPlainDoubleSGD) {
  const SGDOptions variants[] = {
      {0.05, 0.0, 0.0, false}, {0.05, 0.9, 0.0, false}, {0.05, 0.9, 0.0, true},
      {0.05, 0.8, 0.2, false}, {0.05, 0.8, 0.2, true},
  };
  for (const SGDOptions& o : variants) {
    for (const DType dtype : {DType::f64, DType::f32}) {
      ParamSet set(dtype);
      SGD sgd(set.named, o);
      ReferenceSGD ref{o.lr, o.momentum, o.weight_decay, o.nesterov, {}};
      std::vector<Values> expected = set.values;
      for (int step = 0; step < 5; ++step) {
        const std::vector<Values> grads = set.grads_at(step);
        set.set_grads(grads);
        sgd.step();
        ref.step(expected, grads, set.decay);
      }
      const double tolerance = dtype == DType::f64 ? 1e-14 : 2e-6;
      for (size_t p = 0; p < set.named.size(); ++p)
        EXPECT_LT(max_abs_diff(set.named[p].second.to_vector<double>(), expected[p]), tolerance)
            << set.named[p].first << " momentum " << o.momentum << " nesterov " << o.nesterov
            << " wd " << o.weight_decay << " " << dtype_name(dtype);
    }
  }
}

TEST(SGD, WithoutMomentumHasNoState) {
  Tensor p = make_param({1, 2}, {2});
  SGD sgd({{"p", p}}, {0.1, 0.0, 0.0, false});
  const models::NamedTensors state = sgd.state();
  ASSERT_EQ(state.size(), 1u);
  EXPECT_EQ(state[0].first, "step");
}

TEST(Optimizer, UpdatesParametersInPlaceKeepingTheHandles) {
  Tensor w = make_param({1, 2, 3, 4}, {2, 2}, DType::f32);
  const void* data = w.raw_data();
  const TensorImpl* impl = w.impl_ptr();
  AdamW adamw({{"w", w}});
  set_grad(w, {1, 1, 1, 1});
  adamw.step();
  EXPECT_EQ(w.raw_data(), data);
  EXPECT_EQ(w.impl_ptr(), impl);
  EXPECT_TRUE(adamw.parameters()[0].second.same(w));
  EXPECT_NE(w.to_vector<double>()[0], 1.0);
  EXPECT_TRUE(w.is_leaf());
  EXPECT_TRUE(w.requires_grad());
}

TEST(Optimizer, SkipsParametersWithoutGradient) {
  for (const bool use_sgd : {false, true}) {
    Tensor a = make_param({1, 2, 3}, {3});
    Tensor b = make_param({4, 5, 6}, {3});
    std::unique_ptr<Optimizer> opt;
    if (use_sgd)
      opt = std::make_unique<SGD>(models::NamedTensors{{"a", a}, {"b", b}});
    else
      opt = std::make_unique<AdamW>(models::NamedTensors{{"a", a}, {"b", b}});
    set_grad(a, {1, 1, 1});
    opt->step();
    EXPECT_NE(a.to_vector<double>(), (Values{1, 2, 3}));
    EXPECT_EQ(b.to_vector<double>(), (Values{4, 5, 6}));
    for (const auto& [name, t] : opt->state())
      if (name.ends_with(".b")) {
        EXPECT_EQ(t.to_vector<double>(), (Values{0, 0, 0})) << name;
      }
  }
}

TEST(Optimizer, ZeroGradResetsGradientsToUndefined) {
  Tensor a = make_param({1, 2}, {2});
  Tensor b = make_param({3}, {1});
  AdamW adamw({{"a", a}, {"b", b}});
  set_grad(a, {1, 1});
  set_grad(b, {1});
  adamw.zero_grad();
  EXPECT_FALSE(a.grad().defined());
  EXPECT_FALSE(b.grad().defined());
}

TEST(Optimizer, LearningRateIsSettable) {
  Tensor a = make_param({1}, {1});
  SGD sgd({{"a", a}}, {0.5, 0.0, 0.0, false});
  EXPECT_EQ(sgd.lr(), 0.5);
  sgd.set_lr(0.25);
  EXPECT_EQ(sgd.lr(), 0.25);
  set_grad(a, {2});
  sgd.step();
  EXPECT_EQ(a.to_vector<double>()[0], 0.5);
  EXPECT_THROW(sgd.set_lr(-1), Error);
  EXPECT_THROW(sgd.set_lr(std::nan("")), Error);
}

TEST(Optimizer, StateNamesEveryBufferAndTheStep) {
  Tensor w = make_param({1, 2, 3, 4, 5, 6}, {2, 3}, DType::f32);
  Tensor b = make_param({1, 2}, {2}, DType::f32);
  AdamW adamw({{"h.0.mlp.weight", w}, {"h.0.mlp.bias", b}});
  const models::NamedTensors state = adamw.state();
  std::map<std::string, Tensor> by_name(state.begin(), state.end());
  ASSERT_EQ(by_name.size(), 5u);
  EXPECT_EQ(by_name.at("step").dim(), 0);
  EXPECT_EQ(by_name.at("step").dtype(), DType::i64);
  EXPECT_EQ(by_name.at("step").item(), 0.0);
  EXPECT_EQ(by_name.at("exp_avg.h.0.mlp.weight").shape(), (Shape{2, 3}));
  EXPECT_EQ(by_name.at("exp_avg_sq.h.0.mlp.weight").dtype(), DType::f32);
  EXPECT_EQ(by_name.at("exp_avg.h.0.mlp.bias").shape(), (Shape{2}));
  EXPECT_EQ(by_name.at("exp_avg_sq.h.0.mlp.bias").shape(), (Shape{2}));

  SGD sgd({{"w", w}});
  const models::NamedTensors sgd_state = sgd.state();
  ASSERT_EQ(sgd_state.size(), 2u);
  EXPECT_EQ(sgd_state[1].first, "momentum.w");
}

TEST(Optimizer, FrozenParametersGetStateOnlyOnceTheyHaveAGradient) {
  Tensor frozen = from_vector<float>({1, 2, 3}, {3});
  Tensor trained = make_param({1, 2}, {2}, DType::f32);
  AdamW adamw({{"frozen", frozen}, {"trained", trained}});
  EXPECT_EQ(adamw.state().size(), 3u);  // step and trained's two buffers
  frozen.set_requires_grad(true);
  set_grad(frozen, {1, 1, 1});
  adamw.step();
  EXPECT_EQ(adamw.state().size(), 5u);
}

// One step's gradients for the round-trip tests, from the step number alone.
void set_round_trip_grads(const models::NamedTensors& named, int step) {
  for (size_t p = 0; p < named.size(); ++p)
    set_grad(named[p].second, synthetic_grad(named[p].second.numel(), step, static_cast<int>(p)));
}

template <typename Opt, typename Options>
void check_round_trip(const Options& options) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("kiln_optimizer_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  LrSchedule schedule{ScheduleKind::cosine, 1e-2, 1e-3, 2, 6, 0.2};

  ParamSet straight(DType::f32);
  Opt a(straight.named, options);
  for (int step = 0; step < 6; ++step) {
    a.set_lr(schedule.at(step));
    set_round_trip_grads(straight.named, step);
    a.step();
  }

  ParamSet first_half(DType::f32);
  {
    Opt b(first_half.named, options);
    for (int step = 0; step < 3; ++step) {
      b.set_lr(schedule.at(step));
      set_round_trip_grads(first_half.named, step);
      b.step();
    }
    // As a checkpoint would: parameters and optimizer state through safetensors files.
    save_safetensors(dir / "model.safetensors", first_half.named);
    save_safetensors(dir / "optimizer.safetensors", b.state());
  }
  ParamSet resumed(DType::f32);
  const auto weights = load_safetensors(dir / "model.safetensors");
  for (const auto& [name, p] : resumed.named) copy_(p, weights.at(name));
  Opt c(resumed.named, options);
  c.load_state(load_safetensors(dir / "optimizer.safetensors"));
  EXPECT_EQ(c.step_count(), 3);
  for (int step = 3; step < 6; ++step) {
    c.set_lr(schedule.at(step));
    set_round_trip_grads(resumed.named, step);
    c.step();
  }
  EXPECT_EQ(c.step_count(), 6);
  for (size_t p = 0; p < straight.named.size(); ++p) {
    const auto expected = straight.named[p].second.template to_vector<float>();
    const auto got = resumed.named[p].second.template to_vector<float>();
    ASSERT_EQ(expected.size(), got.size());
    EXPECT_EQ(std::memcmp(expected.data(), got.data(), expected.size() * sizeof(float)), 0)
        << straight.named[p].first;
  }
  std::filesystem::remove_all(dir);
}

TEST(Optimizer, AdamWStateRoundTripContinuesBitwiseIdentically) {
  check_round_trip<AdamW>(AdamWOptions{});
}

TEST(Optimizer, SGDStateRoundTripContinuesBitwiseIdentically) {
  check_round_trip<SGD>(SGDOptions{0.1, 0.9, 0.01, false});
  check_round_trip<SGD>(SGDOptions{0.1, 0.9, 0.01, true});
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Optimizer, LoadStateRejectsMismatchedCheckpointsWithoutChangingAnything) {
  Tensor w = make_param({1, 2, 3, 4}, {2, 2}, DType::f32);
  Tensor b = make_param({1, 2}, {2}, DType::f32);
  AdamW source({{"w", w}, {"b", b}});
  set_grad(w, {1, 2, 3, 4});
  set_grad(b, {1, 2});
  source.step();
  const models::NamedTensors saved = source.state();
  const std::map<std::string, Tensor> good(saved.begin(), saved.end());

  AdamW target({{"w", w}, {"b", b}});
  auto expect_rejected = [&](std::map<std::string, Tensor> state, const std::string& needle) {
    const std::string message = error_of([&] { target.load_state(state); });
    EXPECT_NE(message.find("[adamw]"), std::string::npos) << message;
    EXPECT_NE(message.find(needle), std::string::npos) << message;
    EXPECT_EQ(target.step_count(), 0);
    for (const auto& [name, t] : target.state())
      if (name != "step") {
        EXPECT_EQ(t.to_vector<double>(), Values(t.numel(), 0.0)) << name;
      }
  };
  auto without = [&](const std::string& key) {
    auto state = good;
    state.erase(key);
    return state;
  };
  expect_rejected(without("step"), "'step'");
  expect_rejected(without("exp_avg_sq.w"), "missing 'exp_avg_sq.w'");
  auto misshapen = good;
  misshapen["exp_avg.b"] = zeros({3});
  expect_rejected(misshapen, "'exp_avg.b' is [3], expected [2]");
  auto unknown = good;
  unknown["exp_avg.nope"] = zeros({3});
  expect_rejected(unknown, "'exp_avg.nope'");
  auto bad_step = good;
  bad_step["step"] = from_vector<float>({1.5f}, Shape{});
  expect_rejected(bad_step, "'step'");

  target.load_state(good);
  EXPECT_EQ(target.step_count(), 1);
}

TEST(Optimizer, RejectsBadParameterLists) {
  Tensor a = make_param({1}, {1});
  EXPECT_NE(error_of([&] { AdamW({}); }).find("[adamw] got an empty parameter list"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              AdamW({{"a", a}, {"a", make_param({1}, {1})}});
            }).find("'a' appears twice"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              SGD({{"a", a}, {"tied", a}});
            }).find("[sgd] parameters 'a' and 'tied' are the same tensor"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              AdamW({{"ids", from_vector<int64_t>({1}, {1})}});
            }).find("'ids' has dtype i64"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              AdamW({{"u", Tensor()}});
            }).find("'u' is undefined"),
            std::string::npos);
}

TEST(Optimizer, RejectsBadOptions) {
  Tensor a = make_param({1}, {1});
  EXPECT_THROW(AdamW({{"a", a}}, {1e-3, 1.0, 0.95, 1e-8, 0.1}), Error);
  EXPECT_THROW(AdamW({{"a", a}}, {1e-3, 0.9, -0.1, 1e-8, 0.1}), Error);
  EXPECT_THROW(AdamW({{"a", a}}, {1e-3, 0.9, 0.95, -1, 0.1}), Error);
  EXPECT_THROW(AdamW({{"a", a}}, {1e-3, 0.9, 0.95, 1e-8, -0.1}), Error);
  EXPECT_THROW(AdamW({{"a", a}}, {-1e-3, 0.9, 0.95, 1e-8, 0.1}), Error);
  EXPECT_THROW(SGD({{"a", a}}, {0.1, -0.5, 0.0, false}), Error);
  EXPECT_THROW(SGD({{"a", a}}, {0.1, 0.0, 0.0, true}), Error);
  EXPECT_THROW(SGD({{"a", a}}, {0.1, 0.9, -1.0, false}), Error);
}

TEST(Optimizer, ChecksEveryGradientBeforeUpdatingAny) {
  Tensor good = make_param({1, 2}, {2}, DType::f32);
  Tensor bad = make_param({3, 4}, {2}, DType::f32);
  AdamW adamw({{"good", good}, {"bad", bad}});
  set_grad(good, {1, 1});
  bad.set_grad(from_vector<double>({1, 1}, {2}));
  const std::string message = error_of([&] { adamw.step(); });
  EXPECT_NE(message.find("[adamw] gradient of 'bad' has dtype f64, expected f32"),
            std::string::npos)
      << message;
  EXPECT_EQ(good.to_vector<double>(), (Values{1, 2}));
  EXPECT_EQ(adamw.step_count(), 0);
}

// 0.5 * sum a * (x - c)^2 over a vector and a matrix, with gradients from autograd.
template <typename Opt, typename Options>
void check_converges_on_quadratic_bowl(const Options& options, int steps, bool use_schedule) {
  const int64_t n = 12;
  Values a_values(n), c_values(n);
  for (int64_t i = 0; i < n; ++i) {
    a_values[static_cast<size_t>(i)] = 0.5 + 0.125 * static_cast<double>(i);
    c_values[static_cast<size_t>(i)] = std::sin(static_cast<double>(i)) * 2;
  }
  Tensor x = make_param(Values(n / 2, 3.0), {n / 2}, DType::f32);
  Tensor y = make_param(Values(n / 2, -3.0), {2, n / 4}, DType::f32);
  const Tensor a = from_vector<double>(a_values, {n}).to(DType::f32);
  const Tensor c = from_vector<double>(c_values, {n}).to(DType::f32);
  Opt opt({{"x", x}, {"y", y}}, options);
  const LrSchedule schedule{ScheduleKind::cosine, opt.lr(), 0.0, 10, steps, 0.2};
  double loss_value = 0;
  for (int step = 0; step < steps; ++step) {
    if (use_schedule) opt.set_lr(schedule.at(step));
    opt.zero_grad();
    const Tensor d = sub(cat({x, y.reshape({n / 2})}, 0), c);
    const Tensor loss = mul(mul(d, d), a).sum() * 0.5;
    loss.backward();
    loss_value = loss.item();
    opt.step();
  }
  EXPECT_LT(loss_value, 1e-5);
  const Values got_x = x.to_vector<double>();
  const Values got_y = y.to_vector<double>();
  for (int64_t i = 0; i < n; ++i) {
    const double got =
        i < n / 2 ? got_x[static_cast<size_t>(i)] : got_y[static_cast<size_t>(i - n / 2)];
    EXPECT_NEAR(got, c_values[static_cast<size_t>(i)], 1e-2) << i;
  }
}

TEST(AdamW, ConvergesOnAQuadraticBowl) {
  check_converges_on_quadratic_bowl<AdamW>(AdamWOptions{0.1, 0.9, 0.95, 1e-8, 0.0}, 400, true);
}

TEST(SGD, ConvergesOnAQuadraticBowl) {
  check_converges_on_quadratic_bowl<SGD>(SGDOptions{0.1, 0.9, 0.0, false}, 200, false);
  check_converges_on_quadratic_bowl<SGD>(SGDOptions{0.1, 0.9, 0.0, true}, 200, false);
}

}  // namespace
}  // namespace kiln::train
