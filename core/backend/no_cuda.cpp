// The CUDA backend tables of a CPU-only build (compiled instead of core/backend/cuda/): every
// CUDA entry point an op names exists and raises "[op] kiln was built without CUDA".
#include "core/backend/attention.h"
#include "core/backend/dropout.h"
#include "core/backend/elementwise.h"
#include "core/backend/embedding.h"
#include "core/backend/loss.h"
#include "core/backend/matmul.h"
#include "core/backend/norm.h"
#include "core/backend/on_device.h"
#include "core/backend/optim.h"
#include "core/backend/reduce.h"
#include "core/backend/select.h"
#include "core/backend/softmax.h"

namespace kiln::backend {

void built_without_cuda() {
  throw kernels::KernelError("kiln was built without CUDA (rebuild with KILN_CUDA=ON)");
}

const AttentionBackend& AttentionBackend::cuda() {
  built_without_cuda();
}
const DropoutBackend& DropoutBackend::cuda() {
  built_without_cuda();
}
const ElementwiseBackend& ElementwiseBackend::cuda() {
  built_without_cuda();
}
const EmbeddingBackend& EmbeddingBackend::cuda() {
  built_without_cuda();
}
const LossBackend& LossBackend::cuda() {
  built_without_cuda();
}
const MatmulBackend& MatmulBackend::cuda() {
  built_without_cuda();
}
const NormBackend& NormBackend::cuda() {
  built_without_cuda();
}
const OptimBackend& OptimBackend::cuda() {
  built_without_cuda();
}
const ReduceBackend& ReduceBackend::cuda() {
  built_without_cuda();
}
const SelectBackend& SelectBackend::cuda() {
  built_without_cuda();
}
const SoftmaxBackend& SoftmaxBackend::cuda() {
  built_without_cuda();
}

}  // namespace kiln::backend
