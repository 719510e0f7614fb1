// The Threshold piece: computed thresholds (max |x|, SAWB, 1) and where learned ones start.
#include <gtest/gtest.h>

#include <cmath>

#include "core/sawb.h"
#include "qat/threshold.h"

namespace apot::qat {
namespace {

TEST(Threshold, MaxAbsIsTheLargestMagnitudeOrTheReferencesMax) {
  const torch::Tensor x = torch::tensor({0.5f, -2.0f, 1.5f});
  const LevelSet set = LevelSet::uniform(4, true);
  EXPECT_FLOAT_EQ(computed_threshold(Threshold::MaxAbs, x, set, false).item<float>(), 2.0f);
  EXPECT_FLOAT_EQ(computed_threshold(Threshold::MaxAbs, x, set, /*reference_compat=*/true).item<float>(), 1.5f);
  EXPECT_GT(computed_threshold(Threshold::MaxAbs, torch::zeros({4}), set, false).item<float>(), 0.0f) << "never 0";
}

TEST(Threshold, SawbIsItsTwoMomentFormulaAndUnitIsOne) {
  const torch::Tensor x = torch::randn({4, 256}) * 0.1;
  const LevelSet set = LevelSet::uniform(3, true);
  const SawbCoefficients c = fit_sawb(set).coefficients;
  const double expected = c.c1 * std::sqrt(x.pow(2).mean().item<double>()) - c.c2 * x.abs().mean().item<double>();
  EXPECT_NEAR(computed_threshold(Threshold::Sawb, x, set, false).item<double>(), expected, 1e-5);
  EXPECT_EQ(computed_threshold(Threshold::Unit, x, set, false).item<float>(), 1.0f);
}

TEST(Threshold, ComputedThresholdsAreConstantsOfTheGraph) {
  const torch::Tensor x = torch::randn({64}).requires_grad_(true);
  const LevelSet set = LevelSet::uniform(3, true);
  for (Threshold t : {Threshold::MaxAbs, Threshold::Sawb, Threshold::Unit}) {
    EXPECT_FALSE(computed_threshold(t, x, set, false).requires_grad());
  }
  EXPECT_THROW(computed_threshold(Threshold::Learned, x, set, false), std::logic_error);
}

TEST(Threshold, LearnedThresholdsStartAtTheConstantThreeStdOrLsqsStep) {
  const torch::Tensor w = torch::randn({8, 64}) * 0.1;
  const LevelSet set = LevelSet::uniform(4, true);
  const QuantConfig config;
  Pieces rcf{Levels::Scheme, Sign::Signed, Normalization::WeightNorm, Threshold::Learned, Gradient::Rcf};
  EXPECT_EQ(initial_threshold(rcf, w, set, config), config.weight_alpha_init);
  rcf.normalization = Normalization::None;  // without WN, the same clipping ratio
  EXPECT_DOUBLE_EQ(initial_threshold(rcf, w, set, config), 3.0 * w.std().item<double>());
  const Pieces lsq{Levels::Uniform, Sign::Signed, Normalization::None, Threshold::LsqStep, Gradient::Lsq};
  const double qp = 7;  // 4-bit signed symmetric
  EXPECT_NEAR(initial_threshold(lsq, w, set, config), 2 * w.abs().mean().item<double>() * std::sqrt(qp), 1e-6);
}

}  // namespace
}  // namespace apot::qat
