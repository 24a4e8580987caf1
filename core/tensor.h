#pragma once
// Tensor: a shared handle to a view (shape, strides, offset, dtype) of a Storage, plus the
// autograd state (requires_grad, grad, grad_fn). Copying a Tensor copies the handle, as in
// PyTorch; clone() copies the data.
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/shape.h"
#include "core/storage.h"
#include "kernels/layout.h"

namespace kiln {

struct Node;
class Tensor;

struct TensorOptions {
  DType dtype = DType::f32;
  Device device = Device::cpu();
  bool requires_grad = false;

  TensorOptions with_dtype(DType d) const { auto o = *this; o.dtype = d; return o; }
  TensorOptions with_device(Device d) const { auto o = *this; o.device = d; return o; }
  TensorOptions with_requires_grad(bool r) const { auto o = *this; o.requires_grad = r; return o; }
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;
  int64_t offset = 0;  // in elements
  DType dtype = DType::f32;
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;
  std::shared_ptr<Node> grad_fn;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // A tensor over new, uninitialised storage.
  static Tensor empty(const Shape& shape, TensorOptions options = {});
  // A view of `base`'s storage with another shape/strides/offset; no autograd recording
  // (the view ops in core/ops/shape.h record their own backward).
  static Tensor make_view(const Tensor& base, Shape shape, Shape strides, int64_t offset);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Shape& strides() const { return impl().strides; }
  int64_t offset() const { return impl().offset; }
  int64_t dim() const { return static_cast<int64_t>(impl().shape.size()); }
  // Size of dim `d` (negative counts from the end).
  int64_t size(int64_t d) const;
  int64_t numel() const { return shape_numel(impl().shape); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device(); }
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return impl().storage; }
  TensorImpl* impl_ptr() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_shared() const { return impl_; }
  bool same(const Tensor& other) const { return impl_ == other.impl_; }

  // Pointer to the first element (host or device memory); checks the element type.
  template <typename T>
  T* data() const {
    KILN_CHECK(dtype_of<T>() == dtype(), "data", "tensor has dtype {}, accessed as {}",
               dtype_name(dtype()), dtype_name(dtype_of<T>()));
    return static_cast<T*>(storage()->data()) + offset();
  }
  void* raw_data() const;
  // The layout kernels read, with contiguous dims merged; throws when it needs more than
  // kernels::kMaxDims dims.
  kernels::StridedLayout layout() const;

  // Autograd.
  bool requires_grad() const { return impl().requires_grad; }
  // Marks a leaf as requiring grad; only floating tensors can.
  Tensor& set_requires_grad(bool requires_grad);
  Tensor grad() const;
  void set_grad(const Tensor& grad) const;
  void zero_grad() const { impl().grad.reset(); }
  const std::shared_ptr<Node>& grad_fn() const { return impl().grad_fn; }
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  // Backpropagates from this scalar (or with an explicit output gradient).
  void backward() const;
  void backward(const Tensor& grad_output) const;
  // The same data, cut from the graph.
  Tensor detach() const;

  // Copies and conversions (recorded by autograd: gradients flow back through them).
  Tensor to(Device device) const;
  Tensor to(DType dtype) const;
  Tensor contiguous() const;
  Tensor clone() const;

  // Host copies of the values.
  double item() const;
  template <typename T>
  std::vector<T> to_vector() const;

  std::string to_string() const;

  // Shorthands for the ops in core/ops.
  Tensor reshape(const Shape& shape) const;
  Tensor view(const Shape& shape) const;
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor sum(const std::vector<int64_t>& dims = {}, bool keepdim = false) const;
  Tensor mean(const std::vector<int64_t>& dims = {}, bool keepdim = false) const;

 private:
  TensorImpl& impl() const {
    KILN_CHECK(impl_ != nullptr, "tensor", "use of an undefined tensor");
    return *impl_;
  }
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// The layout kernels read for a view of `shape`/`strides`, with size-1 dims dropped and
// contiguous neighbours merged (the row-major order of elements is kept).
kernels::StridedLayout strided_layout(const Shape& shape, const Shape& strides);

// Creation.
Tensor empty(const Shape& shape, TensorOptions options = {});
Tensor zeros(const Shape& shape, TensorOptions options = {});
Tensor ones(const Shape& shape, TensorOptions options = {});
Tensor full(const Shape& shape, double value, TensorOptions options = {});
// [start, end) with `step`; the dtype of `options` (f32 by default; i64 for indices).
Tensor arange(double start, double end, double step = 1.0, TensorOptions options = {});
// A tensor of dtype_of<T>() holding `values` (use uint8_t for masks: std::vector<bool> packs bits).
template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, Device device = Device::cpu());
// Fills every element with `value` (no autograd; for initialisation and optimizers).
void fill_(const Tensor& t, double value);
// Copies `src` into `dst` (same shape; converts dtype and device; no autograd).
void copy_(const Tensor& dst, const Tensor& src);

}  // namespace kiln
