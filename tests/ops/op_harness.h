#pragma once
// The op harness: every op family registers OpCases, and each case is checked
//   (a) forward in f64 and f32 against a plain float64 reference (the f32 inputs are the f64
//       ones rounded, so the reference sees exactly what the op saw),
//   (b) on non-contiguous views of the same inputs (same result as contiguous),
//   (c) backward against central finite differences in f64,
//   (d) when a CUDA device is present (skipped otherwise): CUDA against CPU in f32, forward and
//       the gradients of every differentiable input for the same upstream gradient; and the
//       forward in bf16 and f16 on CUDA against the CPU f32 op on the same rounded inputs.
// A family's test file defines its cases and its references, then writes
//   KILN_OP_CASES(Softmax, softmax_cases());
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace kiln::testing {

// A plain row-major float64 array: what references take and return.
struct RefTensor {
  Shape shape;
  std::vector<double> data;

  RefTensor() = default;
  explicit RefTensor(Shape s, double fill = 0.0)
      : shape(std::move(s)), data(static_cast<size_t>(shape_numel(shape)), fill) {}
  int64_t numel() const { return static_cast<int64_t>(data.size()); }
  int64_t dim() const { return static_cast<int64_t>(shape.size()); }
  // Element at a multi-index (one entry per dim).
  double& at(const std::vector<int64_t>& index);
  double at(const std::vector<int64_t>& index) const;
};

// The multi-index of the i-th element of `shape` in row-major order.
std::vector<int64_t> unravel(int64_t i, const Shape& shape);
// Elementwise over one reference tensor.
RefTensor ref_map(const RefTensor& a, const std::function<double(double)>& f);
// Elementwise over two reference tensors with NumPy broadcasting.
RefTensor ref_zip(const RefTensor& a, const RefTensor& b,
                  const std::function<double(double, double)>& f);

enum class InputKind {
  real,   // uniform in [low, high), floating; differentiated unless `differentiable` is false
  index,  // uniform integers in [0, index_high), i64; never differentiated
  mask,   // bool, true with probability 1/2; never differentiated
};

struct InputSpec {
  Shape shape;
  InputKind kind = InputKind::real;
  double low = -1.0;
  double high = 1.0;
  int64_t index_high = 0;
  bool differentiable = true;

  static InputSpec real(Shape shape, double low = -1.0, double high = 1.0) {
    return {std::move(shape), InputKind::real, low, high, 0, true};
  }
  // A floating input the op is not differentiated with respect to (e.g. a frozen table).
  static InputSpec constant(Shape shape, double low = -1.0, double high = 1.0) {
    return {std::move(shape), InputKind::real, low, high, 0, false};
  }
  static InputSpec index(Shape shape, int64_t high) {
    return {std::move(shape), InputKind::index, 0, 0, high, false};
  }
  static InputSpec mask(Shape shape) { return {std::move(shape), InputKind::mask, 0, 1, 0, false}; }
};

struct OpCase {
  // Unique within the family; letters, digits and underscores (it becomes the test name).
  std::string name;
  std::vector<InputSpec> inputs;
  std::function<Tensor(const std::vector<Tensor>&)> op;
  // Index and mask inputs reach the reference as their integer values in doubles.
  std::function<RefTensor(const std::vector<RefTensor>&)> reference;
  // Off for ops whose output is not differentiable (argmax, comparisons) or piecewise constant.
  bool check_gradients = true;
  // Relative error ‖out - ref‖ / ‖ref‖ allowed in f32 (DESIGN.md: 1e-5); f64 uses 1e-10.
  double f32_tolerance = 1e-5;
  double gradient_tolerance = 1e-6;
  // Finite-difference step; kinks (relu, max) need inputs kept away from them, not a larger step.
  double fd_step = 1e-6;
  // CUDA in bf16 / f16: off for ops that take only f32 on CUDA; tolerances as in DESIGN.md.
  bool check_half_types = true;
  double bf16_tolerance = 2e-2;
  double f16_tolerance = 5e-3;
  // The op's floating output is f32 whatever the 16-bit type of its inputs, on every device
  // (losses: docs/ops.md). Otherwise a bf16 op gives bf16.
  bool f32_output = false;
  // A floor, per element, under the gradients' norm in the CUDA-vs-CPU comparison, for ops whose
  // gradient is 0 in exact arithmetic on some inputs but a rounding residue in floating point
  // (attention with one visible key: dS = P·(dP - D) with dP = D). Without it the relative error
  // of two residues of 1e-8 divides by ~0. It should sit well below the gradients' typical size,
  // so that it changes nothing where they are not ~0.
  double gradient_floor = 0.0;
};

// Relative error ‖a - b‖ / max(‖b‖, floor·√n, tiny): `floor` is an absolute per-element scale
// below which differences count as rounding of a value that is ~0 (0: purely relative).
double relative_error(const std::vector<double>& a, const std::vector<double>& b,
                      double floor = 0.0);

std::string case_name(const ::testing::TestParamInfo<OpCase>& info);
// Expects f() to throw kiln::Error whose message contains `fragment`.
void expect_error(const std::function<void()>& f, const std::string& fragment);

// GoogleTest prints a failing parameter with this: the case's name, not its bytes.
void PrintTo(const OpCase& c, std::ostream* os);

class OpHarness : public ::testing::TestWithParam<OpCase> {};

}  // namespace kiln::testing

// GoogleTest pastes the suite name into identifiers, so it must be a plain name wherever
// KILN_OP_CASES is used.
using OpHarness = ::kiln::testing::OpHarness;

#define KILN_OP_CASES(family, cases)                                      \
  INSTANTIATE_TEST_SUITE_P(family, OpHarness, ::testing::ValuesIn(cases), \
                           ::kiln::testing::case_name)
