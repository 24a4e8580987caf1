#include "core/backend/copy.h"

#include "core/cuda/runtime.h"
#include "core/dispatch.h"
#include "kernels/cpu/convert.h"
#include "kernels/cuda/copy.h"

namespace kiln::backend {
namespace {

void fill(std::string_view, const Tensor& t, double value) {
  visit_dtype(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::cuda::fill(t.data<T>(), t.layout(), kernels::cpu::convert<T>(value), t.numel(),
                        cuda::launch_stream(t.device().index));
  });
}

void copy(std::string_view, const Tensor& src, const Tensor& dst) {
  visit_dtype(src.dtype(), [&](auto src_tag) {
    visit_dtype(dst.dtype(), [&](auto dst_tag) {
      using Src = decltype(src_tag);
      using Dst = decltype(dst_tag);
      kernels::cuda::copy_strided(src.data<Src>(), src.layout(), dst.data<Dst>(), dst.layout(),
                                  dst.numel(), cuda::launch_stream(dst.device().index));
    });
  });
}

constexpr CopyBackend kTable{fill, copy};

}  // namespace

const CopyBackend& CopyBackend::cuda() {
  return kTable;
}

}  // namespace kiln::backend
