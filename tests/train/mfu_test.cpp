#include "train/mfu.h"

#include <gtest/gtest.h>

namespace kiln::train {
namespace {

// GPT-2 small at T = 1024, the figure nanoGPT's estimate_mfu uses: 6·N + 12·L·C·T.
TEST(Mfu, FlopsPerTokenFollowThePalmFormula) {
  const models::LMShape gpt2{50257, 1024, 12, 12, 12, 768, 64};
  const int64_t n = 124439808;
  EXPECT_DOUBLE_EQ(training_flops_per_token(gpt2, n, 1024),
                   6.0 * 124439808 + 12.0 * 12 * 768 * 1024);
  // Attention's share grows with the sequence length, the weights' does not.
  EXPECT_DOUBLE_EQ(
      training_flops_per_token(gpt2, n, 2048) - training_flops_per_token(gpt2, n, 1024),
      12.0 * 12 * 768 * 1024);
}

// Grouped-query attention and a head_dim other than n_embd / n_head: attention's FLOPs follow the
// query width n_head · head_dim, not n_embd.
TEST(Mfu, AttentionFlopsFollowTheQueryWidth) {
  const models::LMShape llama{256, 64, 2, 4, 2, 64, 24};
  EXPECT_DOUBLE_EQ(training_flops_per_token(llama, 1000, 64), 6.0 * 1000 + 12.0 * 2 * 4 * 24 * 64);
}

TEST(Mfu, PeaksComeFromTheDriverNameAndTheDtype) {
  EXPECT_DOUBLE_EQ(*peak_flops("NVIDIA H100 80GB HBM3", DType::bf16, false), 989.4e12);
  EXPECT_DOUBLE_EQ(*peak_flops("NVIDIA H100 80GB HBM3", DType::f16, false), 989.4e12);
  EXPECT_DOUBLE_EQ(*peak_flops("NVIDIA H100 80GB HBM3", DType::f32, false), 66.9e12);
  EXPECT_DOUBLE_EQ(*peak_flops("NVIDIA H100 80GB HBM3", DType::f32, true), 494.7e12);
  EXPECT_DOUBLE_EQ(*peak_flops("NVIDIA H100 PCIe", DType::bf16, false), 756.0e12);
  EXPECT_DOUBLE_EQ(*peak_flops("NVIDIA H200", DType::bf16, false), 989.4e12);
  EXPECT_DOUBLE_EQ(*peak_flops("NVIDIA A100-SXM4-80GB", DType::bf16, false), 312.0e12);
  EXPECT_FALSE(peak_flops("cpu", DType::f32, false).has_value());
  EXPECT_FALSE(peak_flops("NVIDIA GeForce GTX 1080", DType::f32, false).has_value());
  EXPECT_FALSE(peak_flops("NVIDIA H100 80GB HBM3", DType::f64, false).has_value());
}

}  // namespace
}  // namespace kiln::train
