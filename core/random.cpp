#include "core/random.h"

#include "core/dispatch.h"
#include "kernels/random.h"

namespace kiln {

Generator& default_generator() {
  static Generator generator(0);
  return generator;
}

void manual_seed(uint64_t seed) { default_generator().set_state(seed, 0); }

namespace {

// Draws on the host in the compute dtype, then converts and moves: the numbers are the same
// whatever the target device or dtype.
Tensor finish(Tensor host, const TensorOptions& options) {
  Tensor out = host.to(options.dtype).to(options.device);
  if (options.requires_grad) out.set_requires_grad(true);
  return out;
}

DType draw_dtype(DType requested) { return requested == DType::f64 ? DType::f64 : DType::f32; }

}  // namespace

Tensor rand(const Shape& shape, TensorOptions options, Generator* generator, double low,
            double high) {
  KILN_CHECK(is_floating(options.dtype), "rand", "dtype {} is not floating",
             dtype_name(options.dtype));
  Generator& gen = generator ? *generator : default_generator();
  Tensor host = empty(shape, TensorOptions{draw_dtype(options.dtype)});
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
  Tensor host = empty(shape, TensorOptions{draw_dtype(options.dtype)});
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
  Tensor host = empty(shape, TensorOptions{DType::i64});
  const uint64_t first = gen.advance(static_cast<uint64_t>(host.numel()));
  kernels::cpu::randint(host.data<int64_t>(), host.numel(), gen.seed(), first, low, high);
  return finish(host, options);
}

}  // namespace kiln
