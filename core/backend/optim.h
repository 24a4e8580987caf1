#pragma once
// The optimizer updates and gradient reductions on each device (see core/backend/on_device.h
// and core/ops/optim.h). Every parameter, gradient and state buffer passed is contiguous; each
// call covers one group of one device and dtype.
#include <string_view>
#include <vector>

#include "core/ops/optim.h"

namespace kiln::backend {

struct OptimBackend {
  void (*adamw)(std::string_view op, const std::vector<ParamUpdate>& group,
                const AdamWHyper& hyper);
  void (*sgd)(std::string_view op, const std::vector<ParamUpdate>& group, const SGDHyper& hyper);
  double (*sum_of_squares)(std::string_view op, const std::vector<Tensor>& group);
  void (*scale_)(std::string_view op, const std::vector<Tensor>& group, double scale);
  bool (*all_finite)(std::string_view op, const std::vector<Tensor>& group);

  static const OptimBackend& cpu();
  static const OptimBackend& cuda();
};

}  // namespace kiln::backend
