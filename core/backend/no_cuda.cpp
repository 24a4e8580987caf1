// The CUDA backend tables of a CPU-only build (compiled instead of core/backend/cuda/): every
// CUDA entry point an op names exists and raises "[op] kiln was built without CUDA".
#include "core/backend/attention.h"
#include "core/backend/copy.h"
#include "core/backend/dropout.h"
#include "core/backend/elementwise.h"
#include "core/backend/embedding.h"
#include "core/backend/loss.h"
#include "core/backend/matmul.h"
#include "core/backend/norm.h"
#include "core/backend/on_device.h"
#include "core/backend/optim.h"
#include "core/backend/random.h"
#include "core/backend/reduce.h"
#include "core/backend/select.h"
#include "core/backend/softmax.h"

namespace kiln::backend {

void built_without_cuda() {
  throw kernels::KernelError("", "kiln was built without CUDA (rebuild with KILN_CUDA=ON)");
}

// Each family's CUDA table accessor, throwing instead of returning the table.
#define KILN_WITHOUT_CUDA(Backend) \
  const Backend& Backend::cuda() { \
    built_without_cuda();          \
  }

KILN_WITHOUT_CUDA(AttentionBackend)
KILN_WITHOUT_CUDA(CopyBackend)
KILN_WITHOUT_CUDA(DropoutBackend)
KILN_WITHOUT_CUDA(ElementwiseBackend)
KILN_WITHOUT_CUDA(EmbeddingBackend)
KILN_WITHOUT_CUDA(LossBackend)
KILN_WITHOUT_CUDA(MatmulBackend)
KILN_WITHOUT_CUDA(NormBackend)
KILN_WITHOUT_CUDA(OptimBackend)
KILN_WITHOUT_CUDA(RandomBackend)
KILN_WITHOUT_CUDA(ReduceBackend)
KILN_WITHOUT_CUDA(SelectBackend)
KILN_WITHOUT_CUDA(SoftmaxBackend)

#undef KILN_WITHOUT_CUDA

}  // namespace kiln::backend
