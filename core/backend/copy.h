#pragma once
// Fills and same-device copies on each device (see core/backend/on_device.h), for every dtype:
// `fill` writes value (converted to t's dtype) through t's layout; `copy` converts src's
// elements to dst's dtype, both read and written through their layouts.
#include <string_view>

#include "core/tensor.h"

namespace kiln::backend {

struct CopyBackend {
  void (*fill)(std::string_view op, const Tensor& t, double value);
  void (*copy)(std::string_view op, const Tensor& src, const Tensor& dst);

  static const CopyBackend& cpu();
  static const CopyBackend& cuda();
};

}  // namespace kiln::backend
