#include "core/backend/random.h"

#include "core/dispatch.h"
#include "kernels/random.h"

namespace kiln::backend {
namespace {

void uniform(std::string_view op, const Tensor& out, uint64_t seed, uint64_t first, double low,
             double high) {
  visit_float(out.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::uniform(out.data<T>(), out.numel(), seed, first, low, high);
  });
}

void normal(std::string_view op, const Tensor& out, uint64_t seed, uint64_t first, double mean,
            double std) {
  visit_float(out.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::normal(out.data<T>(), out.numel(), seed, first, mean, std);
  });
}

void randint(std::string_view, const Tensor& out, uint64_t seed, uint64_t first, int64_t low,
             int64_t high) {
  kernels::cpu::randint(out.data<int64_t>(), out.numel(), seed, first, low, high);
}

constexpr RandomBackend kTable{uniform, normal, randint};

}  // namespace

const RandomBackend& RandomBackend::cpu() {
  return kTable;
}

}  // namespace kiln::backend
