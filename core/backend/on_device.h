#pragma once
// The one device dispatch of the ops. Each op family has a backend table
// (core/backend/<family>.h): a struct of function pointers, one per entry point, taking
// Tensors. The CPU table is defined in core/backend/cpu/<family>.cpp, the CUDA table in
// core/backend/cuda/<family>.cpp; each entry picks the element type (the dtype -> template
// choice is made there, once per family and device) and calls the typed launchers of
// kernels/. An op calls
//   on_device(op, x.device(), &NormBackend::layer_norm_forward, x, weight, ...);
// which picks the table of the device, passes `op` first (for the entries' error messages)
// and turns a launcher's kernels::KernelError into kiln::Error naming the op.
//
// Why tables of function pointers rather than free functions per device: a CPU-only build
// must still link every CUDA entry point an op names. With one table per family the stub
// translation unit (core/backend/no_cuda.cpp) is one line per family, `Table::cuda()` raising
// "[op] kiln was built without CUDA (rebuild with KILN_CUDA=ON)", instead of one throwing
// definition per function; and no op needs an #ifdef.
#include <string_view>
#include <utility>

#include "core/device.h"
#include "core/error.h"
#include "kernels/error.h"

namespace kiln::backend {

// What a CUDA table accessor does in a build without CUDA: throws a kernels::KernelError, which
// on_device reports under the op's name.
[[noreturn]] void built_without_cuda();

}  // namespace kiln::backend

namespace kiln {

template <typename Backend, typename R, typename... Params, typename... Args>
R on_device(std::string_view op, const Device& device,
            R (*Backend::*entry)(std::string_view, Params...), Args&&... args) {
  try {
    const Backend& table = device.is_cuda() ? Backend::cuda() : Backend::cpu();
    return (table.*entry)(op, std::forward<Args>(args)...);
  } catch (const kernels::KernelError& e) {
    if (e.api().empty()) fail(op, "{}", e.detail());
    fail(op, "{}: {}", e.api(), e.detail());
  }
}

}  // namespace kiln
