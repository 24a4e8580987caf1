#include "core/random.h"

#include "core/backend/on_device.h"
#include "core/backend/random.h"

namespace kiln {

Generator& default_generator() {
  static Generator generator(0);
  return generator;
}

void manual_seed(uint64_t seed) {
  default_generator().set_state(seed, 0);
}

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

DType draw_dtype(DType requested) {
  return requested == DType::f64 ? DType::f64 : DType::f32;
}

// Where the draw happens: the CUDA kernels draw f32 (and i64); f64 is drawn on the host, and so
// is everything in a CPU-only build, where moving the result raises the clear error.
Device draw_device(const TensorOptions& options, DType draw) {
  return cuda_compiled() && options.device.is_cuda() && draw != DType::f64 ? options.device
                                                                           : Device::cpu();
}

}  // namespace

Tensor rand(const Shape& shape, TensorOptions options, Generator* generator, double low,
            double high) {
  KILN_CHECK(is_floating(options.dtype), "rand", "dtype {} is not floating",
             dtype_name(options.dtype));
  Generator& gen = generator ? *generator : default_generator();
  const DType draw = draw_dtype(options.dtype);
  const Tensor drawn = empty(shape, TensorOptions{draw, draw_device(options, draw)});
  const uint64_t first = gen.advance(static_cast<uint64_t>(drawn.numel()));
  on_device("rand", drawn.device(), &backend::RandomBackend::uniform, drawn, gen.seed(), first, low,
            high);
  return finish(drawn, options);
}

Tensor randn(const Shape& shape, TensorOptions options, Generator* generator, double mean,
             double std) {
  KILN_CHECK(is_floating(options.dtype), "randn", "dtype {} is not floating",
             dtype_name(options.dtype));
  Generator& gen = generator ? *generator : default_generator();
  const DType draw = draw_dtype(options.dtype);
  const Tensor drawn = empty(shape, TensorOptions{draw, draw_device(options, draw)});
  const uint64_t first = gen.advance(static_cast<uint64_t>(drawn.numel()));
  on_device("randn", drawn.device(), &backend::RandomBackend::normal, drawn, gen.seed(), first,
            mean, std);
  return finish(drawn, options);
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, TensorOptions options,
               Generator* generator) {
  KILN_CHECK(high > low, "randint", "empty range [{}, {})", low, high);
  Generator& gen = generator ? *generator : default_generator();
  const Tensor drawn = empty(shape, TensorOptions{DType::i64, draw_device(options, DType::i64)});
  const uint64_t first = gen.advance(static_cast<uint64_t>(drawn.numel()));
  on_device("randint", drawn.device(), &backend::RandomBackend::randint, drawn, gen.seed(), first,
            low, high);
  return finish(drawn, options);
}

}  // namespace kiln
