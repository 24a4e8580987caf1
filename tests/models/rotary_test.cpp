#include "models/rotary.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"

namespace kiln::models {
namespace {

// transformers 4.46's _compute_llama3_parameters for head_dim 32, theta 500000, factor 8,
// low/high_freq_factor 1/4, original context 64 (f32, printed to 9 digits): the first two
// frequencies are kept (wavelength < 16), the third blended, the rest divided by 8.
TEST(Rotary, Llama3ScalingMatchesTransformers) {
  RopeScaling s;
  s.type = "llama3";
  s.factor = 8.0;
  s.low_freq_factor = 1.0;
  s.high_freq_factor = 4.0;
  s.original_max_position_embeddings = 64;
  const std::vector<double> want = {1.0,
                                    0.440366626,
                                    0.079403013,
                                    0.0106746377,
                                    0.00470075384,
                                    0.00207005511,
                                    0.000911583134,
                                    0.000401430763,
                                    0.000176776681,
                                    7.78465546e-05,
                                    3.42810235e-05,
                                    1.50962178e-05,
                                    6.64786967e-06,
                                    2.92749974e-06,
                                    1.28917316e-06,
                                    5.6770881e-07};
  const std::vector<double> got = rope_inverse_frequencies(32, 500000.0, s);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-6 * want[i]) << i;
}

TEST(Rotary, PlainAndLinearSchedules) {
  const std::vector<double> plain = rope_inverse_frequencies(8, 10000.0);
  ASSERT_EQ(plain.size(), 4u);
  for (size_t i = 0; i < 4; ++i)
    EXPECT_DOUBLE_EQ(plain[i], std::pow(10000.0, -static_cast<double>(2 * i) / 8.0));
  RopeScaling linear;
  linear.type = "linear";
  linear.factor = 4.0;
  const std::vector<double> scaled = rope_inverse_frequencies(8, 10000.0, linear);
  for (size_t i = 0; i < 4; ++i) EXPECT_DOUBLE_EQ(scaled[i], plain[i] / 4.0);
}

TEST(Rotary, BadScalingNamesTheField) {
  RopeScaling s;
  s.type = "yarn";
  EXPECT_THROW(s.validate(), Error);
  s.type = "llama3";
  s.high_freq_factor = 0.5;
  EXPECT_THROW(s.validate(), Error);
  s.type = "linear";
  s.factor = 0.0;
  EXPECT_THROW(s.validate(), Error);
}

}  // namespace
}  // namespace kiln::models
