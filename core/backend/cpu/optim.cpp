#include "core/backend/optim.h"

#include <type_traits>

#include "core/dispatch.h"
#include "kernels/grad_clip.h"

namespace kiln::backend {
namespace {

template <typename T>
constexpr bool is_16_bit = std::is_same_v<T, bf16> || std::is_same_v<T, f16>;

// The CPU steps one parameter at a time, the weight decay resolved per parameter.
void adamw(std::string_view op, const std::vector<ParamUpdate>& group, const AdamWHyper& hyper) {
  for (const ParamUpdate& u : group) {
    AdamWHyper s = hyper;
    s.weight_decay = u.decay ? hyper.weight_decay : 0.0;
    if (u.master.defined()) {
      visit_dtype(u.param.dtype(), [&](auto tag) {
        using T = decltype(tag);
        if constexpr (is_16_bit<T>) {
          kernels::cpu::adamw_step_mixed(u.param.data<T>(), u.grad.data<T>(),
                                         u.master.data<float>(), u.state[0].data<float>(),
                                         u.state[1].data<float>(), u.param.numel(), s);
        }
      });
      continue;
    }
    visit_float(u.param.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::adamw_step(u.param.data<T>(), u.grad.data<T>(), u.state[0].data<T>(),
                               u.state[1].data<T>(), u.param.numel(), s);
    });
  }
}

void sgd(std::string_view op, const std::vector<ParamUpdate>& group, const SGDHyper& hyper) {
  for (const ParamUpdate& u : group) {
    SGDHyper s = hyper;
    s.weight_decay = u.decay ? hyper.weight_decay : 0.0;
    if (u.master.defined()) {
      visit_dtype(u.param.dtype(), [&](auto tag) {
        using T = decltype(tag);
        if constexpr (is_16_bit<T>) {
          kernels::cpu::sgd_step_mixed(u.param.data<T>(), u.grad.data<T>(), u.master.data<float>(),
                                       u.state.empty() ? nullptr : u.state[0].data<float>(),
                                       u.param.numel(), s);
        }
      });
      continue;
    }
    visit_float(u.param.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      T* momentum = u.state.empty() ? nullptr : u.state[0].data<T>();
      kernels::cpu::sgd_step(u.param.data<T>(), u.grad.data<T>(), momentum, u.param.numel(), s);
    });
  }
}

double sum_of_squares(std::string_view op, const std::vector<Tensor>& group) {
  double total = 0;
  for (const Tensor& g : group) {
    total += visit_float(g.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      return kernels::cpu::sum_of_squares(g.data<T>(), g.numel());
    });
  }
  return total;
}

void scale_(std::string_view op, const std::vector<Tensor>& group, double scale) {
  for (const Tensor& g : group) {
    visit_float(g.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::scale_(g.data<T>(), g.numel(), scale);
    });
  }
}

bool all_finite(std::string_view op, const std::vector<Tensor>& group) {
  for (const Tensor& g : group) {
    const bool finite = visit_float(g.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      return kernels::cpu::all_finite(g.data<T>(), g.numel());
    });
    if (!finite) return false;
  }
  return true;
}

constexpr OptimBackend kTable{adamw, sgd, sum_of_squares, scale_, all_finite};

}  // namespace

const OptimBackend& OptimBackend::cpu() {
  return kTable;
}

}  // namespace kiln::backend
