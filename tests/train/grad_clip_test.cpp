#include "train/grad_clip.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/ops.h"

namespace kiln::train {
namespace {

Tensor param_with_grad(const std::vector<double>& grad, const Shape& shape,
                       DType dtype = DType::f64) {
  Tensor p = zeros(shape, TensorOptions{dtype});
  p.set_requires_grad(true);
  p.set_grad(from_vector<double>(grad, shape).to(dtype));
  return p;
}

TEST(GradClip, GlobalNormCoversEveryDefinedGradient) {
  for (const DType dtype : {DType::f64, DType::f32}) {
    Tensor a = param_with_grad({3, 4}, {2}, dtype);
    Tensor b = param_with_grad({12}, {1, 1}, dtype);
    Tensor none = zeros({5}, TensorOptions{dtype});
    EXPECT_DOUBLE_EQ(global_grad_norm({a, b, none}), 13.0);
    EXPECT_DOUBLE_EQ(global_grad_norm({none}), 0.0);
  }
}

TEST(GradClip, ClipScalesEveryGradientAndReturnsThePreClipNorm) {
  for (const DType dtype : {DType::f64, DType::f32}) {
    Tensor a = param_with_grad({3, 4}, {2}, dtype);
    Tensor b = param_with_grad({12}, {1}, dtype);
    EXPECT_DOUBLE_EQ(clip_grad_norm({a, b}, 6.5), 13.0);
    const double scale = 6.5 / (13.0 + 1e-6);  // torch's clip coefficient
    const double tolerance = dtype == DType::f64 ? 1e-15 : 1e-6;
    EXPECT_NEAR(a.grad().to_vector<double>()[0], 3 * scale, tolerance);
    EXPECT_NEAR(a.grad().to_vector<double>()[1], 4 * scale, tolerance);
    EXPECT_NEAR(b.grad().to_vector<double>()[0], 12 * scale, tolerance);
    EXPECT_NEAR(global_grad_norm({a, b}), 6.5, 1e-5);
  }
}

TEST(GradClip, GradientsUnderTheLimitAreUntouched) {
  Tensor a = param_with_grad({0.1, -0.2, 0.3}, {3}, DType::f32);
  const Tensor before = a.grad();
  const std::vector<float> values = before.to_vector<float>();
  EXPECT_NEAR(clip_grad_norm({a}, 1.0), std::sqrt(0.14), 1e-7);
  EXPECT_TRUE(a.grad().same(before));
  EXPECT_EQ(a.grad().to_vector<float>(), values);
  EXPECT_NEAR(clip_grad_norm({a}, std::sqrt(0.14) + 1e-6), std::sqrt(0.14), 1e-7);
  EXPECT_EQ(a.grad().to_vector<float>(), values);
}

TEST(GradClip, ScalesNonContiguousAndSharedGradientsInPlaceOnce) {
  Tensor p = zeros({2, 3}, TensorOptions{DType::f64});
  p.set_requires_grad(true);
  const Tensor storage = from_vector<double>({1, 2, 3, 4, 5, 6}, {3, 2});
  p.set_grad(storage.transpose(0, 1));  // a strided view
  Tensor q = zeros({2, 3}, TensorOptions{DType::f64});
  q.set_requires_grad(true);
  q.set_grad(p.grad());  // the same gradient handle twice
  const double norm = clip_grad_norm({p, q}, 1.0);
  EXPECT_DOUBLE_EQ(norm, std::sqrt(91.0));
  const double scale = 1.0 / (std::sqrt(91.0) + 1e-6);
  const std::vector<double> got = storage.to_vector<double>();
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(got[static_cast<size_t>(i)], (i + 1) * scale, 1e-15);
}

TEST(GradClip, LargeNormMatchesADoubleLoopWhateverTheThreadCount) {
  const int64_t n = 300001;
  std::vector<double> values(static_cast<size_t>(n));
  double expected = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double v = static_cast<double>(static_cast<float>(std::sin(0.37 * i) * (1 + i % 7)));
    values[static_cast<size_t>(i)] = v;
    expected += v * v;
  }
  Tensor p = param_with_grad(values, {n}, DType::f32);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const double one = global_grad_norm({p});
  omp_set_num_threads(std::max(2, threads));
  const double many = global_grad_norm({p});
  omp_set_num_threads(threads);
  EXPECT_NEAR(one, std::sqrt(expected), 1e-12 * std::sqrt(expected));
  EXPECT_EQ(std::memcmp(&one, &many, sizeof(double)), 0);
}

TEST(GradClip, DetectsNaNAndInfinity) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (const DType dtype : {DType::f64, DType::f32}) {
    Tensor fine = param_with_grad({1, 2}, {2}, dtype);
    Tensor no_grad = zeros({2}, TensorOptions{dtype});
    EXPECT_TRUE(grads_are_finite({fine, no_grad}));
    for (const double bad : {nan, inf, -inf}) {
      Tensor broken = param_with_grad({0, bad, 1}, {3}, dtype);
      EXPECT_FALSE(grads_are_finite({fine, broken})) << bad;
    }
    std::vector<double> big(100000, 0.5);
    big.back() = nan;
    EXPECT_FALSE(grads_are_finite({param_with_grad(big, {100000}, dtype)}));
  }
}

TEST(GradClip, NonFiniteNormIsReturnedAndNothingIsScaled) {
  Tensor fine = param_with_grad({3, 4}, {2});
  Tensor broken = param_with_grad({std::numeric_limits<double>::infinity()}, {1});
  EXPECT_TRUE(std::isinf(clip_grad_norm({fine, broken}, 1.0)));
  EXPECT_EQ(fine.grad().to_vector<double>(), (std::vector<double>{3, 4}));
  Tensor nan = param_with_grad({std::nan("")}, {1});
  EXPECT_TRUE(std::isnan(clip_grad_norm({fine, nan}, 1.0)));
}

TEST(GradClip, RejectsNonPositiveMaxNorm) {
  Tensor a = param_with_grad({1}, {1});
  try {
    clip_grad_norm({a}, 0.0);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[clip_grad_norm] max_norm 0 must be > 0"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace kiln::train
