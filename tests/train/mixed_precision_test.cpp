// Mixed precision on the CPU: bf16/f16 parameters stepped through f32 master copies (the
// reference the CUDA kernels are checked against), gradient scales divided out, master copies
// in the optimizer state, and the loss scaler's state machine.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/ops.h"
#include "train/adamw.h"
#include "train/loss_scaler.h"
#include "train/sgd.h"

namespace kiln::train {
namespace {

// Values exactly representable in bf16 and f16, so an f32 run and a 16-bit run start equal.
std::vector<float> representable(int64_t n, int seed) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<size_t>(i)] = static_cast<float>(
        std::ldexp(std::round(std::sin(0.37 * static_cast<double>(i + 1) + seed) * 64.0), -7));
  return v;
}

Tensor param_of(const std::vector<float>& values, const Shape& shape, DType dtype) {
  Tensor t = from_vector<float>(values, shape).to(dtype);
  t.set_requires_grad(true);
  return t;
}

void set_grad(const Tensor& p, const std::vector<float>& values) {
  p.set_grad(from_vector<float>(values, p.shape()).to(p.dtype()));
}

std::map<std::string, Tensor> clone_state(const Optimizer& opt) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : opt.state()) out.emplace(name, t.clone());
  return out;
}

// The master follows the f32 run's parameter, and the 16-bit parameter is the master rounded.
void check_master(const Tensor& master, const Tensor& p32, const Tensor& p16,
                  const std::string& name) {
  EXPECT_EQ(master.dtype(), DType::f32);
  const auto want = p32.to_vector<float>();
  const auto got = master.to_vector<float>();
  const auto rounded = p16.to(DType::f32).to_vector<float>();
  const auto master_rounded = master.to(p16.dtype()).to(DType::f32).to_vector<float>();
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], 1e-6f * (1.f + std::abs(want[i]))) << name << "[" << i << "]";
    EXPECT_EQ(rounded[i], master_rounded[i]) << name << "[" << i << "]";
  }
}

// Runs `steps` steps of an f32 optimizer and of a 16-bit one over the same values and
// gradients; the 16-bit run's master must follow the f32 run, and its parameter must be the
// master rounded.
template <typename Make>
void expect_master_follows_f32(DType dtype, Make make) {
  const Shape shape{3, 5};
  const std::vector<float> init = representable(15, 1);
  const Tensor p32 = param_of(init, shape, DType::f32);
  const Tensor p16 = param_of(init, shape, dtype);
  const Tensor b32 = param_of(representable(5, 2), {5}, DType::f32);
  const Tensor b16 = param_of(representable(5, 2), {5}, dtype);
  auto opt32 = make(models::NamedTensors{{"w", p32}, {"b", b32}});
  auto opt16 = make(models::NamedTensors{{"w", p16}, {"b", b16}});
  for (int step = 0; step < 4; ++step) {
    const std::vector<float> gw = representable(15, 10 + step);
    const std::vector<float> gb = representable(5, 20 + step);
    set_grad(p32, gw);
    set_grad(p16, gw);
    set_grad(b32, gb);
    set_grad(b16, gb);
    opt32->step();
    opt16->step();
  }
  const auto state = clone_state(*opt16);
  ASSERT_TRUE(state.count("master.w") && state.count("master.b"));
  check_master(state.at("master.w"), p32, p16, "w");
  check_master(state.at("master.b"), b32, b16, "b");
}

TEST(MixedPrecision, AdamWMasterFollowsF32) {
  for (const DType dtype : {DType::bf16, DType::f16}) {
    expect_master_follows_f32(dtype, [](models::NamedTensors params) {
      AdamWOptions o;
      o.lr = 1e-2;
      o.weight_decay = 0.1;
      return std::make_unique<AdamW>(std::move(params), o);
    });
  }
}

TEST(MixedPrecision, SGDMasterFollowsF32) {
  for (const DType dtype : {DType::bf16, DType::f16}) {
    expect_master_follows_f32(dtype, [](models::NamedTensors params) {
      SGDOptions o;
      o.lr = 1e-2;
      o.momentum = 0.9;
      o.weight_decay = 0.01;
      o.nesterov = true;
      return std::make_unique<SGD>(std::move(params), o);
    });
  }
}

// Small updates that bf16 cannot represent accumulate in the master instead of vanishing.
TEST(MixedPrecision, MasterKeepsUpdatesBelowBf16Resolution) {
  const Tensor p = param_of({1.f}, {1}, DType::bf16);
  SGDOptions o;
  o.lr = 1e-4;
  o.momentum = 0;
  SGD opt({{"p", p}}, o);
  for (int i = 0; i < 100; ++i) {
    set_grad(p, {-1.f});
    opt.step();
  }
  // 1 + 100 * 1e-4 = 1.01: bf16's spacing at 1 is 2^-7, so each step alone would round away.
  EXPECT_NEAR(clone_state(opt).at("master.p").item(), 1.01, 1e-5);
  EXPECT_EQ(p.to(DType::f32).item(), static_cast<double>(static_cast<float>(bf16(1.01f))));
}

TEST(MixedPrecision, GradScaleIsDividedOut) {
  const std::vector<float> init = representable(6, 3);
  const Tensor a = param_of(init, {2, 3}, DType::f32);
  const Tensor b = param_of(init, {2, 3}, DType::f32);
  AdamW plain({{"p", a}});
  AdamW scaled({{"p", b}});
  scaled.set_grad_scale(1024.0);
  for (int step = 0; step < 3; ++step) {
    const std::vector<float> g = representable(6, 30 + step);
    std::vector<float> g_scaled(g);
    for (float& x : g_scaled) x *= 1024.f;
    set_grad(a, g);
    set_grad(b, g_scaled);
    plain.step();
    scaled.step();
  }
  EXPECT_EQ(a.to_vector<float>(), b.to_vector<float>());
}

TEST(MixedPrecision, MasterSurvivesStateRoundTrip) {
  const std::vector<float> init = representable(8, 4);
  const Tensor p1 = param_of(init, {8}, DType::bf16);
  AdamW first({{"p", p1}});
  for (int step = 0; step < 2; ++step) {
    set_grad(p1, representable(8, 40 + step));
    first.step();
  }
  const auto saved = clone_state(first);
  const Tensor p2 = param_of(init, {8}, DType::bf16);  // stale values: the master must win
  AdamW second({{"p", p2}});
  second.load_state(saved);
  for (const auto& [opt, p] : {std::pair{&first, p1}, std::pair{&second, p2}}) {
    set_grad(p, representable(8, 50));
    opt->step();
  }
  EXPECT_EQ(p1.to_vector<float>(), p2.to_vector<float>());
  EXPECT_EQ(clone_state(first).at("master.p").to_vector<float>(),
            clone_state(second).at("master.p").to_vector<float>());
}

TEST(MixedPrecision, MasterWithWrongShapeIsRejected) {
  const Tensor p = param_of(representable(4, 5), {4}, DType::bf16);
  AdamW opt({{"p", p}});
  auto state = clone_state(opt);
  state["master.p"] = zeros({5});
  EXPECT_THROW(opt.load_state(state), Error);
}

TEST(LossScaler, DisabledIsTransparent) {
  LossScaler s(false);
  EXPECT_EQ(s.scale(), 1.0);
  EXPECT_TRUE(s.update(false));
  EXPECT_EQ(s.scale(), 1.0);
}

TEST(LossScaler, HalvesOnOverflowAndSkips) {
  LossScaler s(true);
  EXPECT_EQ(s.scale(), 65536.0);
  EXPECT_TRUE(s.update(true));
  EXPECT_EQ(s.clean_steps(), 1);
  EXPECT_FALSE(s.update(false));
  EXPECT_EQ(s.scale(), 32768.0);
  EXPECT_EQ(s.clean_steps(), 0);
  EXPECT_FALSE(s.update(false));
  EXPECT_EQ(s.scale(), 16384.0);
}

TEST(LossScaler, DoublesAfterGrowthInterval) {
  LossScaler s(true, {8.0, 3});
  EXPECT_TRUE(s.update(true));
  EXPECT_TRUE(s.update(true));
  EXPECT_EQ(s.scale(), 8.0);
  EXPECT_TRUE(s.update(true));
  EXPECT_EQ(s.scale(), 16.0);
  EXPECT_EQ(s.clean_steps(), 0);
  // An overflow restarts the count.
  EXPECT_TRUE(s.update(true));
  EXPECT_FALSE(s.update(false));
  EXPECT_TRUE(s.update(true));
  EXPECT_TRUE(s.update(true));
  EXPECT_EQ(s.scale(), 8.0);
  EXPECT_TRUE(s.update(true));
  EXPECT_EQ(s.scale(), 16.0);
}

TEST(LossScaler, DefaultGrowthIntervalIs2000) {
  LossScaler s(true);
  for (int i = 0; i < 1999; ++i) s.update(true);
  EXPECT_EQ(s.scale(), 65536.0);
  s.update(true);
  EXPECT_EQ(s.scale(), 131072.0);
}

TEST(LossScaler, StateRoundTripsAndIsValidated) {
  LossScaler a(true, {1024.0, 10});
  a.update(true);
  a.update(false);
  a.update(true);
  LossScaler b(true, {1024.0, 10});
  b.load_state(a.state());
  EXPECT_EQ(b.scale(), a.scale());
  EXPECT_EQ(b.clean_steps(), a.clean_steps());
  EXPECT_THROW(b.load_state(nlohmann::json{{"scale", 2.0}}), Error);
  EXPECT_THROW(b.load_state(nlohmann::json{{"scale", -1.0}, {"clean_steps", 0}}), Error);
  EXPECT_THROW(b.load_state(nlohmann::json{{"scale", 2.0}, {"clean_steps", 10}}), Error);
}

TEST(LossScaler, BackwardStartsFromTheScale) {
  Tensor x = from_vector<float>({1.f, 2.f}, {2});
  x.set_requires_grad(true);
  LossScaler s(true, {256.0, 2000});
  s.backward(sum(x * x));
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{512.f, 1024.f}));
}

}  // namespace
}  // namespace kiln::train
