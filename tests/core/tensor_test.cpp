#include <gtest/gtest.h>

#include "core/ops/elementwise.h"
#include "core/ops/shape.h"
#include "core/tensor.h"
#include "tests/require_cuda.h"

namespace kiln {
namespace {

TEST(Tensor, CreationFillsShapeAndValues) {
  const Tensor z = zeros({2, 3});
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_EQ(z.strides(), (Shape{3, 1}));
  EXPECT_EQ(z.numel(), 6);
  EXPECT_EQ(z.dtype(), DType::f32);
  EXPECT_TRUE(z.device().is_cpu());
  EXPECT_EQ(z.to_vector<float>(), std::vector<float>(6, 0.0f));
  EXPECT_EQ(ones({4}, TensorOptions{DType::i32}).to_vector<int32_t>(), std::vector<int32_t>(4, 1));
  EXPECT_EQ(full({2}, 2.5, TensorOptions{DType::f64}).to_vector<double>(),
            (std::vector<double>{2.5, 2.5}));
}

TEST(Tensor, ArangeCountsLikeNumpy) {
  EXPECT_EQ(arange(0, 5).to_vector<float>(), (std::vector<float>{0, 1, 2, 3, 4}));
  EXPECT_EQ(arange(1, 2, 0.25).numel(), 4);
  EXPECT_EQ(arange(5, 0, -2, TensorOptions{DType::i64}).to_vector<int64_t>(),
            (std::vector<int64_t>{5, 3, 1}));
  EXPECT_EQ(arange(3, 3).numel(), 0);
  EXPECT_THROW(arange(0, 1, 0), Error);
}

TEST(Tensor, FromVectorChecksTheCount) {
  const Tensor t = from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(t.dtype(), DType::f64);
  EXPECT_DOUBLE_EQ(t.to_vector<double>()[4], 5.0);
  EXPECT_THROW(from_vector<float>({1, 2, 3}, {2, 2}), Error);
}

TEST(Tensor, ItemNeedsOneElement) {
  EXPECT_DOUBLE_EQ(full({1, 1}, 3.0).item(), 3.0);
  EXPECT_DOUBLE_EQ(full({}, -1.0).item(), -1.0);
  EXPECT_THROW(zeros({2}).item(), Error);
}

TEST(Tensor, ConversionsRoundTrip) {
  const Tensor x = from_vector<float>({1.0f, -2.5f, 3.140625f, 65504.0f}, {4});
  EXPECT_EQ(x.to(DType::f16).to(DType::f32).to_vector<float>(), x.to_vector<float>());
  // bf16 keeps 8 mantissa bits: 3.140625 is exact, 65504 rounds to 65536.
  EXPECT_EQ(x.to(DType::bf16).to(DType::f32).to_vector<float>(),
            (std::vector<float>{1.0f, -2.5f, 3.140625f, 65536.0f}));
  EXPECT_EQ(x.to(DType::i64).to_vector<int64_t>(), (std::vector<int64_t>{1, -2, 3, 65504}));
  EXPECT_EQ(x.to(DType::boolean).to_vector<uint8_t>(), (std::vector<uint8_t>{1, 1, 1, 1}));
}

TEST(Tensor, Bf16RoundsToNearestEven) {
  // 1 + 2^-8 lies exactly between two bf16 values; the even one (1.0) wins.
  EXPECT_EQ(static_cast<float>(bf16(1.0f + 1.0f / 256)), 1.0f);
  EXPECT_EQ(static_cast<float>(bf16(1.0f + 3.0f / 256)), 1.0f + 4.0f / 256);
  EXPECT_TRUE(std::isnan(static_cast<float>(bf16(NAN))));
}

TEST(Tensor, F16HandlesSubnormalsAndOverflow) {
  EXPECT_EQ(static_cast<float>(f16(5.9604644775390625e-8f)), 5.9604644775390625e-8f);
  EXPECT_EQ(static_cast<float>(f16(1e-9f)), 0.0f);
  EXPECT_TRUE(std::isinf(static_cast<float>(f16(70000.0f))));
  EXPECT_EQ(static_cast<float>(f16(65504.0f)), 65504.0f);
}

TEST(Tensor, CloneCopiesData) {
  const Tensor a = from_vector<float>({1, 2}, {2});
  const Tensor b = a.clone();
  fill_(b, 7.0);
  EXPECT_EQ(a.to_vector<float>(), (std::vector<float>{1, 2}));
  EXPECT_NE(a.storage().get(), b.storage().get());
}

// Large enough for the threaded path, whose ranges start mid-row in both layouts; the permuted
// source and the sliced destination have differently merged dims.
TEST(Tensor, LargeStridedCopiesLandEveryElement) {
  const int64_t a = 7, b = 3, c = 5003;
  const Tensor src = arange(0, static_cast<double>(a * b * c), 1, TensorOptions{DType::f64})
                         .reshape({a, b, c})
                         .permute({2, 0, 1});  // [c, a, b]
  const Tensor packed = src.to(DType::f32);    // strided read, contiguous write, converting
  const std::vector<float> values = packed.to_vector<float>();
  bool all_match = true;
  for (int64_t k = 0; k < c && all_match; ++k)
    for (int64_t i = 0; i < a; ++i)
      for (int64_t j = 0; j < b; ++j)
        all_match &= values[static_cast<size_t>((k * a + i) * b + j)] ==
                     static_cast<float>((i * b + j) * c + k);
  EXPECT_TRUE(all_match);
  EXPECT_EQ(src.to_vector<float>(), values);  // into a plain buffer, converting on the way

  Tensor wide = zeros({c, 2 * a * b}, TensorOptions{DType::f32});
  Tensor left = slice(wide, 1, 0, a * b);  // contiguous rows with a gap after each
  copy_(left, packed.reshape({c, a * b}));
  fill_(slice(wide, 1, a * b, 2 * a * b), -1.0);
  const std::vector<float> w = wide.to_vector<float>();
  for (int64_t k = 0; k < c; k += 997) {
    EXPECT_EQ(w[static_cast<size_t>(k * 2 * a * b + 1)],
              values[static_cast<size_t>(k * a * b + 1)]);
    EXPECT_EQ(w[static_cast<size_t>(k * 2 * a * b + a * b)], -1.0f);
  }
}

TEST(Tensor, PrintingShowsShapeDtypeAndValues) {
  const std::string text = from_vector<float>({1, 2, 3, 4}, {2, 2}).to_string();
  EXPECT_NE(text.find("shape=[2, 2]"), std::string::npos) << text;
  EXPECT_NE(text.find("dtype=f32"), std::string::npos) << text;
  EXPECT_NE(text.find("[[1, 2],\n [3, 4]]"), std::string::npos) << text;
  const std::string big = zeros({2000}).to_string();
  EXPECT_NE(big.find("..."), std::string::npos);
  EXPECT_LT(big.size(), 200u);
}

TEST(Tensor, DtypeNamesParse) {
  EXPECT_EQ(parse_dtype("bfloat16"), DType::bf16);
  EXPECT_EQ(parse_dtype("f32"), DType::f32);
  EXPECT_EQ(dtype_name(DType::i64), "i64");
  EXPECT_THROW(parse_dtype("f8"), Error);
}

TEST(Device, CudaIsAClearErrorWithoutCuda) {
  EXPECT_EQ(parse_device("cpu"), Device::cpu());
  EXPECT_THROW(parse_device("gpu"), Error);
  EXPECT_THROW(parse_device("cuda:x"), Error);
  if (cuda_available()) GTEST_SKIP() << "a CUDA device is present";
  try {
    zeros({2}, TensorOptions{DType::f32, Device::cuda(0)});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cuda:0"), std::string::npos) << e.what();
  }
}

TEST(Device, CudaRoundTripKeepsValues) {
  KILN_SKIP_WITHOUT_CUDA();
  const Tensor x = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor on_gpu = x.to(Device::cuda(0));
  EXPECT_TRUE(on_gpu.device().is_cuda());
  EXPECT_EQ(on_gpu.to(Device::cpu()).to_vector<float>(), x.to_vector<float>());
  // A transposed view copied and converted on the device.
  EXPECT_EQ(
      on_gpu.transpose(0, 1).to(DType::bf16).contiguous().to(Device::cpu()).to_vector<float>(),
      x.transpose(0, 1).contiguous().to_vector<float>());
}

TEST(Device, NamesSayWhatTheHardwareIs) {
  EXPECT_EQ(device_name(Device::cpu()), "cpu");
  if (!cuda_available()) {
    EXPECT_THROW(device_name(Device::cuda(0)), Error);
    return;
  }
  const std::string name = device_name(Device::cuda(0));
  EXPECT_FALSE(name.empty());
  EXPECT_NE(name, "cpu");
}

TEST(Tensor, UndefinedTensorIsAnError) {
  const Tensor t;
  EXPECT_FALSE(t.defined());
  EXPECT_THROW(t.shape(), Error);
}

}  // namespace
}  // namespace kiln
