// The CUDA optimizers and gradient clipping against the CPU ones on the same values: f32
// parameters, and bf16/f16 parameters through f32 master copies (the CPU's mixed-precision
// kernels are the reference). Sizes cover a single element, ragged ends, and tensors spanning
// several 64K-element chunks of the multi-tensor launches. Skipped without a CUDA device.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/ops.h"
#include "train/adamw.h"
#include "train/grad_clip.h"
#include "train/sgd.h"
#include "tests/require_cuda.h"

namespace kiln::train {
namespace {

const std::vector<Shape> kShapes = {{1}, {7}, {33, 31}, {70001}, {3, 65536}};

std::vector<float> values(int64_t n, int seed) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<size_t>(i)] =
        static_cast<float>(std::sin(0.61 * static_cast<double>(i) + 1.7 * seed) *
                           std::pow(10.0, static_cast<double>((i + seed) % 5) - 3.0));
  return v;
}

double relative_error(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, ref = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    ref += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(diff) / std::max(std::sqrt(ref), 1e-30);
}

// The same parameters on `device` with `dtype`.
models::NamedTensors make_params(DType dtype, Device device) {
  models::NamedTensors out;
  for (size_t k = 0; k < kShapes.size(); ++k) {
    Tensor p = from_vector<float>(values(shape_numel(kShapes[k]), static_cast<int>(k)), kShapes[k])
                   .to(dtype)
                   .to(device);
    p.set_requires_grad(true);
    out.emplace_back("p" + std::to_string(k), p);
  }
  return out;
}

void set_grads(const models::NamedTensors& params, int step, double scale = 1.0) {
  for (size_t k = 0; k < params.size(); ++k) {
    const Tensor& p = params[k].second;
    std::vector<float> g = values(p.numel(), 100 * step + static_cast<int>(k));
    for (float& x : g) x *= static_cast<float>(scale);
    p.set_grad(from_vector<float>(g, p.shape()).to(p.dtype()).to(p.device()));
  }
}

using MakeOptimizer = std::function<std::unique_ptr<Optimizer>(models::NamedTensors)>;

// Steps a CPU and a CUDA optimizer over the same parameters and gradients and compares every
// parameter and state buffer (masters included).
void expect_cuda_matches_cpu(DType dtype, const MakeOptimizer& make, double grad_scale = 1.0) {
  KILN_SKIP_WITHOUT_CUDA();
  const models::NamedTensors cpu = make_params(dtype, Device::cpu());
  const models::NamedTensors gpu = make_params(dtype, Device::cuda(0));
  auto cpu_opt = make(cpu);
  auto gpu_opt = make(gpu);
  cpu_opt->set_grad_scale(grad_scale);
  gpu_opt->set_grad_scale(grad_scale);
  for (int step = 0; step < 3; ++step) {
    set_grads(cpu, step, grad_scale);
    set_grads(gpu, step, grad_scale);
    cpu_opt->step();
    gpu_opt->step();
  }
  const double tolerance = dtype == DType::f32 ? 1e-5 : (dtype == DType::bf16 ? 2e-2 : 5e-3);
  for (size_t k = 0; k < cpu.size(); ++k) {
    EXPECT_LE(relative_error(gpu[k].second.to(Device::cpu()).to(DType::f32).to_vector<float>(),
                             cpu[k].second.to(DType::f32).to_vector<float>()),
              tolerance)
        << cpu[k].first;
  }
  std::map<std::string, Tensor> cpu_state;
  for (const auto& [name, t] : cpu_opt->state()) cpu_state.emplace(name, t);
  for (const auto& [name, t] : gpu_opt->state()) {
    ASSERT_TRUE(cpu_state.count(name)) << name;
    if (name == "step") continue;
    // State is f32 on both sides, computed in f32: the f32 tolerance applies.
    EXPECT_LE(relative_error(t.to(Device::cpu()).to_vector<float>(),
                             cpu_state.at(name).to_vector<float>()),
              1e-5)
        << name;
  }
}

MakeOptimizer adamw() {
  return [](models::NamedTensors params) {
    AdamWOptions o;
    o.lr = 1e-2;
    o.weight_decay = 0.1;
    return std::make_unique<AdamW>(std::move(params), o);
  };
}

MakeOptimizer sgd(bool nesterov) {
  return [nesterov](models::NamedTensors params) {
    SGDOptions o;
    o.lr = 1e-2;
    o.momentum = 0.9;
    o.weight_decay = 0.01;
    o.nesterov = nesterov;
    return std::make_unique<SGD>(std::move(params), o);
  };
}

TEST(CudaOptimizer, AdamWF32) {
  expect_cuda_matches_cpu(DType::f32, adamw());
}
TEST(CudaOptimizer, AdamWBf16Master) {
  expect_cuda_matches_cpu(DType::bf16, adamw());
}
TEST(CudaOptimizer, AdamWF16MasterWithLossScale) {
  expect_cuda_matches_cpu(DType::f16, adamw(), 1024.0);
}
TEST(CudaOptimizer, SGDF32) {
  expect_cuda_matches_cpu(DType::f32, sgd(false));
}
TEST(CudaOptimizer, SGDNesterovBf16Master) {
  expect_cuda_matches_cpu(DType::bf16, sgd(true));
}

TEST(CudaGradClip, NormAndClipMatchCpu) {
  KILN_SKIP_WITHOUT_CUDA();
  for (const DType dtype : {DType::f32, DType::bf16}) {
    const models::NamedTensors gpu = make_params(dtype, Device::cuda(0));
    set_grads(gpu, 7);
    // The CPU reference works on f32 copies of the same (rounded) gradients.
    std::vector<Tensor> cpu_params, gpu_params;
    for (const auto& [name, p] : gpu) {
      Tensor c = zeros(p.shape());
      c.set_requires_grad(true);
      c.set_grad(p.grad().to(Device::cpu()).to(DType::f32));
      cpu_params.push_back(c);
      gpu_params.push_back(p);
    }
    const double cpu_norm = global_grad_norm(cpu_params);
    EXPECT_NEAR(global_grad_norm(gpu_params), cpu_norm, 1e-9 * cpu_norm);
    EXPECT_TRUE(grads_are_finite(gpu_params));
    const double max_norm = cpu_norm / 4;
    EXPECT_NEAR(clip_grad_norm(gpu_params, max_norm), clip_grad_norm(cpu_params, max_norm),
                1e-9 * cpu_norm);
    for (size_t k = 0; k < gpu_params.size(); ++k) {
      EXPECT_LE(
          relative_error(gpu_params[k].grad().to(Device::cpu()).to(DType::f32).to_vector<float>(),
                         cpu_params[k].grad().to_vector<float>()),
          dtype == DType::f32 ? 1e-6 : 1e-2);
    }
  }
}

TEST(CudaGradClip, NonFiniteGradientIsFound) {
  KILN_SKIP_WITHOUT_CUDA();
  const models::NamedTensors gpu = make_params(DType::bf16, Device::cuda(0));
  set_grads(gpu, 1);
  std::vector<Tensor> params;
  for (const auto& [name, p] : gpu) params.push_back(p);
  EXPECT_TRUE(grads_are_finite(params));
  std::vector<float> g(static_cast<size_t>(params[3].numel()), 0.f);
  g[70000] = std::numeric_limits<float>::infinity();
  params[3].set_grad(from_vector<float>(g, params[3].shape()).to(DType::bf16).to(Device::cuda(0)));
  EXPECT_FALSE(grads_are_finite(params));
  EXPECT_FALSE(std::isfinite(global_grad_norm(params)));
}

// The gradient norm reduces in a fixed order: the same gradients give the same bits.
TEST(CudaGradClip, NormIsDeterministic) {
  KILN_SKIP_WITHOUT_CUDA();
  const models::NamedTensors gpu = make_params(DType::f32, Device::cuda(0));
  set_grads(gpu, 2);
  std::vector<Tensor> params;
  for (const auto& [name, p] : gpu) params.push_back(p);
  const double first = global_grad_norm(params);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(global_grad_norm(params), first);
}

}  // namespace
}  // namespace kiln::train
