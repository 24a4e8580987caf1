#pragma once
// The CPU kernels' parallel grain: a loop runs on OpenMP threads only when it covers more than
// kParallelWork elements (or element-sized steps of work); below that, waking the threads costs
// more than the loop.
#include <cstdint>

namespace kiln::kernels::cpu {

constexpr int64_t kParallelWork = int64_t{1} << 15;

}  // namespace kiln::kernels::cpu
