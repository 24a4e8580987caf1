#include "tests/ops/op_harness.h"

#include <algorithm>
#include <cmath>

#include "core/autograd.h"
#include "core/random.h"
#include "kernels/numeric_types.h"
#include "tests/require_cuda.h"

namespace kiln::testing {

std::vector<int64_t> unravel(int64_t i, const Shape& shape) {
  std::vector<int64_t> index(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    index[d] = i % shape[d];
    i /= shape[d];
  }
  return index;
}

namespace {

int64_t ravel(const std::vector<int64_t>& index, const Shape& shape) {
  EXPECT_EQ(index.size(), shape.size());
  int64_t i = 0;
  for (size_t d = 0; d < shape.size(); ++d) i = i * shape[d] + index[d];
  return i;
}

uint64_t fnv1a(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (const char c : text) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

// Fresh random values for one input, as doubles (integers for index and mask inputs).
RefTensor generate(const InputSpec& spec, Generator& gen) {
  RefTensor ref(spec.shape);
  Tensor values;
  switch (spec.kind) {
    case InputKind::real:
      values = rand(spec.shape, TensorOptions{DType::f64}, &gen, spec.low, spec.high);
      break;
    case InputKind::index:
      values = randint(0, spec.index_high, spec.shape, TensorOptions{DType::i64}, &gen);
      break;
    case InputKind::mask:
      values = randint(0, 2, spec.shape, TensorOptions{DType::i64}, &gen);
      break;
  }
  ref.data = values.to_vector<double>();
  return ref;
}

DType input_dtype(const InputSpec& spec, DType floating) {
  switch (spec.kind) {
    case InputKind::real:
      return floating;
    case InputKind::index:
      return DType::i64;
    case InputKind::mask:
      return DType::boolean;
  }
  return floating;
}

// A tensor of `ref`'s values; `strided` makes it a view with gaps between all elements.
Tensor make_input(const RefTensor& ref, DType dtype, bool strided, Device device) {
  const Tensor values = from_vector(ref.data, ref.shape).to(dtype);
  if (!strided) return values.to(device);
  const Tensor buffer = zeros({2 * ref.numel() + 1}, TensorOptions{dtype, device});
  Shape strides = contiguous_strides(ref.shape);
  for (int64_t& s : strides) s *= 2;
  const Tensor view = Tensor::make_view(buffer, ref.shape, strides, 1);
  copy_(view, values);
  EXPECT_TRUE(ref.numel() <= 1 || !view.is_contiguous());
  return view;
}

std::vector<Tensor> make_inputs(const OpCase& c, const std::vector<RefTensor>& refs, DType floating,
                                bool strided, Device device = Device::cpu()) {
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < refs.size(); ++i)
    inputs.push_back(make_input(refs[i], input_dtype(c.inputs[i], floating), strided, device));
  return inputs;
}

std::vector<RefTensor> random_refs(const OpCase& c) {
  Generator gen(fnv1a(c.name));
  std::vector<RefTensor> refs;
  for (const InputSpec& spec : c.inputs) refs.push_back(generate(spec, gen));
  return refs;
}

// The same values rounded through f32, so a reference sees what an f32 op sees.
std::vector<RefTensor> rounded_to_f32(std::vector<RefTensor> refs) {
  for (RefTensor& r : refs)
    for (double& v : r.data) v = static_cast<double>(static_cast<float>(v));
  return refs;
}

// The real inputs rounded through a 16-bit type (index and mask inputs stay exact), so the CPU
// f32 op sees the values a 16-bit CUDA op sees.
std::vector<RefTensor> rounded_to_half(const OpCase& c, std::vector<RefTensor> refs, DType dtype) {
  for (size_t i = 0; i < refs.size(); ++i) {
    if (c.inputs[i].kind != InputKind::real) continue;
    for (double& v : refs[i].data) {
      const auto f = static_cast<float>(v);
      v = dtype == DType::bf16 ? static_cast<float>(bf16(f)) : static_cast<float>(f16(f));
    }
  }
  return refs;
}

// Marks the inputs the case differentiates with respect to.
void require_grads(const OpCase& c, std::vector<Tensor>& inputs) {
  for (size_t i = 0; i < inputs.size(); ++i)
    if (c.inputs[i].kind == InputKind::real && c.inputs[i].differentiable)
      inputs[i].set_requires_grad(true);
}

// The upstream gradient the backward checks use: fixed random weights of the output's shape.
Tensor output_weights(const OpCase& c, const Shape& shape, DType dtype) {
  Generator gen(fnv1a(c.name) ^ 0x5eedu);
  return rand(shape, TensorOptions{dtype}, &gen, -1.0, 1.0);
}

void expect_matches_reference(const OpCase& c, const Tensor& out, const RefTensor& expected,
                              double tolerance, const char* what) {
  ASSERT_EQ(out.shape(), expected.shape) << what << ": output shape " << shape_str(out.shape())
                                         << ", reference " << shape_str(expected.shape);
  const double err = relative_error(out.to_vector<double>(), expected.data);
  EXPECT_LE(err, tolerance) << what << " of " << c.name;
}

double weighted_sum(const Tensor& out, const std::vector<double>& weights) {
  const std::vector<double> values = out.to_vector<double>();
  double total = 0.0;
  for (size_t i = 0; i < values.size(); ++i) total += values[i] * weights[i];
  return total;
}

}  // namespace

double& RefTensor::at(const std::vector<int64_t>& index) {
  return data[static_cast<size_t>(ravel(index, shape))];
}

double RefTensor::at(const std::vector<int64_t>& index) const {
  return data[static_cast<size_t>(ravel(index, shape))];
}

RefTensor ref_map(const RefTensor& a, const std::function<double(double)>& f) {
  RefTensor out(a.shape);
  for (size_t i = 0; i < a.data.size(); ++i) out.data[i] = f(a.data[i]);
  return out;
}

RefTensor ref_zip(const RefTensor& a, const RefTensor& b,
                  const std::function<double(double, double)>& f) {
  const Shape shape = broadcast_shapes(a.shape, b.shape, "ref_zip");
  RefTensor out(shape);
  auto source_index = [&](const std::vector<int64_t>& index, const Shape& src) {
    std::vector<int64_t> result(src.size());
    const size_t lead = shape.size() - src.size();
    for (size_t d = 0; d < src.size(); ++d) result[d] = src[d] == 1 ? 0 : index[lead + d];
    return result;
  };
  for (int64_t i = 0; i < out.numel(); ++i) {
    const std::vector<int64_t> index = unravel(i, shape);
    out.data[static_cast<size_t>(i)] =
        f(a.at(source_index(index, a.shape)), b.at(source_index(index, b.shape)));
  }
  return out;
}

double relative_error(const std::vector<double>& a, const std::vector<double>& b, double floor) {
  if (a.size() != b.size()) return INFINITY;
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) != std::isnan(b[i]) || (std::isinf(b[i]) && a[i] != b[i])) return INFINITY;
    if (std::isnan(b[i]) || std::isinf(b[i])) continue;
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    norm += b[i] * b[i];
  }
  const double floor_norm = floor * std::sqrt(static_cast<double>(a.size()));
  return std::sqrt(diff) / std::max({std::sqrt(norm), floor_norm, 1e-30});
}

std::string case_name(const ::testing::TestParamInfo<OpCase>& info) {
  return info.param.name;
}

void PrintTo(const OpCase& c, std::ostream* os) {
  *os << c.name;
}

void expect_error(const std::function<void()>& f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "expected kiln::Error containing '" << fragment << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST_P(OpHarness, ForwardF64MatchesReference) {
  const OpCase& c = GetParam();
  const std::vector<RefTensor> refs = random_refs(c);
  const Tensor out = c.op(make_inputs(c, refs, DType::f64, false));
  expect_matches_reference(c, out, c.reference(refs), 1e-10, "f64 forward");
}

TEST_P(OpHarness, ForwardF32MatchesReference) {
  const OpCase& c = GetParam();
  const std::vector<RefTensor> refs = rounded_to_f32(random_refs(c));
  const Tensor out = c.op(make_inputs(c, refs, DType::f32, false));
  if (is_floating(out.dtype())) {
    EXPECT_EQ(out.dtype(), DType::f32) << "an f32 op should give f32";
  }
  expect_matches_reference(c, out, c.reference(refs), c.f32_tolerance, "f32 forward");
}

TEST_P(OpHarness, NonContiguousInputsGiveTheSameResult) {
  const OpCase& c = GetParam();
  const std::vector<RefTensor> refs = random_refs(c);
  const Tensor contiguous = c.op(make_inputs(c, refs, DType::f64, false));
  const Tensor strided = c.op(make_inputs(c, refs, DType::f64, true));
  ASSERT_EQ(strided.shape(), contiguous.shape());
  EXPECT_LE(relative_error(strided.to_vector<double>(), contiguous.to_vector<double>()), 1e-12);
}

TEST_P(OpHarness, BackwardMatchesFiniteDifferences) {
  const OpCase& c = GetParam();
  if (!c.check_gradients) GTEST_SKIP() << "not differentiable";
  const std::vector<RefTensor> refs = random_refs(c);
  std::vector<Tensor> inputs = make_inputs(c, refs, DType::f64, false);
  bool any = false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (c.inputs[i].kind == InputKind::real && c.inputs[i].differentiable) {
      inputs[i].set_requires_grad(true);
      any = true;
    }
  }
  ASSERT_TRUE(any) << "a differentiable case needs a differentiable input";
  const Tensor out = c.op(inputs);
  ASSERT_TRUE(out.requires_grad()) << c.name << " recorded no backward";
  const Tensor weights = output_weights(c, out.shape(), DType::f64);
  out.backward(weights);
  const std::vector<double> w = weights.to_vector<double>();

  NoGradGuard no_grad;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].requires_grad()) continue;
    ASSERT_TRUE(inputs[i].grad().defined()) << "no gradient reached input " << i;
    std::vector<double> numeric(refs[i].data.size());
    for (size_t k = 0; k < numeric.size(); ++k) {
      std::vector<Tensor> shifted = inputs;
      RefTensor plus = refs[i], minus = refs[i];
      plus.data[k] += c.fd_step;
      minus.data[k] -= c.fd_step;
      shifted[i] = from_vector(plus.data, plus.shape);
      const double up = weighted_sum(c.op(shifted), w);
      shifted[i] = from_vector(minus.data, minus.shape);
      const double down = weighted_sum(c.op(shifted), w);
      numeric[k] = (up - down) / (2 * c.fd_step);
    }
    EXPECT_LE(relative_error(inputs[i].grad().to_vector<double>(), numeric), c.gradient_tolerance)
        << "gradient of input " << i << " of " << c.name;
  }
}

// Forward and, when the output is differentiable, the gradients of every differentiable input.
TEST_P(OpHarness, CudaMatchesCpu) {
  KILN_SKIP_WITHOUT_CUDA();
  const OpCase& c = GetParam();
  const std::vector<RefTensor> refs = rounded_to_f32(random_refs(c));
  std::vector<Tensor> cpu_inputs = make_inputs(c, refs, DType::f32, false);
  std::vector<Tensor> cuda_inputs = make_inputs(c, refs, DType::f32, false, Device::cuda(0));
  require_grads(c, cpu_inputs);
  require_grads(c, cuda_inputs);
  const Tensor on_cpu = c.op(cpu_inputs);
  const Tensor on_cuda = c.op(cuda_inputs);
  ASSERT_TRUE(on_cuda.device().is_cuda());
  ASSERT_EQ(on_cuda.shape(), on_cpu.shape());
  EXPECT_LE(relative_error(on_cuda.to_vector<double>(), on_cpu.to_vector<double>()),
            c.f32_tolerance)
      << "forward of " << c.name;
  if (!on_cpu.requires_grad()) return;  // comparisons, argmax: nothing to differentiate

  const Tensor weights = output_weights(c, on_cpu.shape(), DType::f32);
  on_cpu.backward(weights);
  on_cuda.backward(weights.to(Device::cuda(0)));
  for (size_t i = 0; i < cpu_inputs.size(); ++i) {
    if (!cpu_inputs[i].requires_grad()) continue;
    ASSERT_TRUE(cuda_inputs[i].grad().defined()) << "no CUDA gradient reached input " << i;
    ASSERT_TRUE(cuda_inputs[i].grad().device().is_cuda());
    EXPECT_LE(relative_error(cuda_inputs[i].grad().to_vector<double>(),
                             cpu_inputs[i].grad().to_vector<double>(), c.gradient_floor),
              c.f32_tolerance)
        << "gradient of input " << i << " of " << c.name;
  }
}

// The op in a 16-bit type on CUDA against the CPU f32 op on the same (rounded) values: what is
// left is the op's own rounding in that type.
void expect_cuda_half_matches_cpu(const OpCase& c, DType dtype, double tolerance) {
  const std::vector<RefTensor> refs = rounded_to_half(c, random_refs(c), dtype);
  const Tensor on_cpu = c.op(make_inputs(c, refs, DType::f32, false));
  const Tensor on_cuda = c.op(make_inputs(c, refs, dtype, false, Device::cuda(0)));
  ASSERT_TRUE(on_cuda.device().is_cuda());
  ASSERT_EQ(on_cuda.shape(), on_cpu.shape());
  if (is_floating(on_cpu.dtype())) {
    const DType expected = c.f32_output ? DType::f32 : dtype;
    EXPECT_EQ(on_cuda.dtype(), expected)
        << "a " << dtype_name(dtype) << " " << c.name << " should give " << dtype_name(expected);
  }
  EXPECT_LE(relative_error(on_cuda.to_vector<double>(), on_cpu.to_vector<double>()), tolerance)
      << dtype_name(dtype) << " forward of " << c.name;
}

TEST_P(OpHarness, CudaBf16MatchesCpu) {
  KILN_SKIP_WITHOUT_CUDA();
  const OpCase& c = GetParam();
  if (!c.check_half_types) GTEST_SKIP() << "f32 only on CUDA";
  expect_cuda_half_matches_cpu(c, DType::bf16, c.bf16_tolerance);
}

TEST_P(OpHarness, CudaF16MatchesCpu) {
  KILN_SKIP_WITHOUT_CUDA();
  const OpCase& c = GetParam();
  if (!c.check_half_types) GTEST_SKIP() << "f32 only on CUDA";
  expect_cuda_half_matches_cpu(c, DType::f16, c.f16_tolerance);
}

}  // namespace kiln::testing
