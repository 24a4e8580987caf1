#include "core/random.h"

#include "core/dispatch.h"
#include "kernels/random.h"

#ifdef KILN_CUDA
#include "core/cuda/runtime.h"
#include "kernels/cuda/random.h"
#endif

namespace kiln {

Generator& default_generator() {
  static Generator generator(0);
  return generator;
}

void manual_seed(uint64_t seed) { default_generator().set_state(seed, 0); }

namespace {

// Draws in the compute dtype (f32, or f64 for f64; i64 for randint), on a CUDA device when the
// target is one and it draws that dtype, on the host otherwise; then converts and moves. The
// kernels compute the same numbers on both devices, so the result does not depend on the
// target device or dtype.
Tensor finish(Tensor host, const TensorOptions& options) {
  Tensor out = host.to(options.dtype).to(options.device);
  if (options.requires_grad) out.set_requires_grad(true);
  return out;
}

DType draw_dtype(DType requested) { return requested == DType::f64 ? DType::f64 : DType::f32; }

#ifdef KILN_CUDA
bool draws_on_cuda(const TensorOptions& options, DType draw) {
  return options.device.is_cuda() && draw != DType::f64;
}
#endif

}  // namespace

Tensor rand(const Shape& shape, TensorOptions options, Generator* generator, double low,
            double high) {
  KILN_CHECK(is_floating(options.dtype), "rand", "dtype {} is not floating",
             dtype_name(options.dtype));
  Generator& gen = generator ? *generator : default_generator();
  const DType draw = draw_dtype(options.dtype);
#ifdef KILN_CUDA
  if (draws_on_cuda(options, draw)) {
    Tensor drawn = empty(shape, TensorOptions{draw, options.device});
    const uint64_t first = gen.advance(static_cast<uint64_t>(drawn.numel()));
    kernels::cuda::uniform(drawn.data<float>(), drawn.numel(), gen.seed(), first, low, high,
                           cuda::launch_stream(options.device.index));
    return finish(drawn, options);
  }
#endif
  Tensor host = empty(shape, TensorOptions{draw});
  const uint64_t first = gen.advance(static_cast<uint64_t>(host.numel()));
  visit_float(host.dtype(), "rand", [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::uniform(host.data<T>(), host.numel(), gen.seed(), first, low, high);
  });
  return finish(host, options);
}

Tensor randn(const Shape& shape, TensorOptions options, Generator* generator, double mean,
             double std) {
  KILN_CHECK(is_floating(options.dtype), "randn", "dtype {} is not floating",
             dtype_name(options.dtype));
  Generator& gen = generator ? *generator : default_generator();
  const DType draw = draw_dtype(options.dtype);
#ifdef KILN_CUDA
  if (draws_on_cuda(options, draw)) {
    Tensor drawn = empty(shape, TensorOptions{draw, options.device});
    const uint64_t first = gen.advance(static_cast<uint64_t>(drawn.numel()));
    kernels::cuda::normal(drawn.data<float>(), drawn.numel(), gen.seed(), first, mean, std,
                          cuda::launch_stream(options.device.index));
    return finish(drawn, options);
  }
#endif
  Tensor host = empty(shape, TensorOptions{draw});
  const uint64_t first = gen.advance(static_cast<uint64_t>(host.numel()));
  visit_float(host.dtype(), "randn", [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::normal(host.data<T>(), host.numel(), gen.seed(), first, mean, std);
  });
  return finish(host, options);
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, TensorOptions options,
               Generator* generator) {
  KILN_CHECK(high > low, "randint", "empty range [{}, {})", low, high);
  Generator& gen = generator ? *generator : default_generator();
#ifdef KILN_CUDA
  if (draws_on_cuda(options, DType::i64)) {
    Tensor drawn = empty(shape, TensorOptions{DType::i64, options.device});
    const uint64_t first = gen.advance(static_cast<uint64_t>(drawn.numel()));
    kernels::cuda::randint(drawn.data<int64_t>(), drawn.numel(), gen.seed(), first, low, high,
                           cuda::launch_stream(options.device.index));
    return finish(drawn, options);
  }
#endif
  Tensor host = empty(shape, TensorOptions{DType::i64});
  const uint64_t first = gen.advance(static_cast<uint64_t>(host.numel()));
  kernels::cpu::randint(host.data<int64_t>(), host.numel(), gen.seed(), first, low, high);
  return finish(host, options);
}

}  // namespace kiln
