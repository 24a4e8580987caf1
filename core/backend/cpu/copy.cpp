#include "core/backend/copy.h"

#include "core/dispatch.h"
#include "kernels/copy.h"
#include "kernels/cpu/convert.h"

namespace kiln::backend {
namespace {

void fill(std::string_view, const Tensor& t, double value) {
  visit_dtype(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::fill(t.data<T>(), t.layout(), kernels::cpu::convert<T>(value), t.numel());
  });
}

void copy(std::string_view, const Tensor& src, const Tensor& dst) {
  visit_dtype(src.dtype(), [&](auto src_tag) {
    visit_dtype(dst.dtype(), [&](auto dst_tag) {
      using Src = decltype(src_tag);
      using Dst = decltype(dst_tag);
      kernels::cpu::copy_strided(src.data<Src>(), src.layout(), dst.data<Dst>(), dst.layout(),
                                 dst.numel());
    });
  });
}

constexpr CopyBackend kTable{fill, copy};

}  // namespace

const CopyBackend& CopyBackend::cpu() {
  return kTable;
}

}  // namespace kiln::backend
