#include "core/sawb.h"

#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "core/quant_error.h"

namespace apot {
namespace {

TEST(Sawb, FitIsCloseOnEveryDistributionItUses) {
  for (int bits = 2; bits <= 5; ++bits) {
    const SawbFit fit = fit_sawb(LevelSet::uniform(bits, true));
    SCOPED_TRACE(bits);
    EXPECT_EQ(fit.points.size(), 4u);
    EXPECT_GT(fit.coefficients.c1, 0.0);
    EXPECT_LT(fit.max_relative_residual, bits <= 3 ? 0.03 : 0.08);
  }
}

// The ternary optimum of a unit Gaussian (Lloyd-Max: 1.224) among the fit's points.
TEST(Sawb, GaussianPointIsTheKnownOptimum) {
  const SawbFit fit = fit_sawb(LevelSet::uniform(2, true));
  EXPECT_EQ(fit.points[0].distribution, "gaussian");
  EXPECT_NEAR(fit.points[0].qem_alpha / fit.points[0].rms, 1.224, 0.015);
}

// On fresh samples of another scale and mean, SAWB's one-shot alpha is close to the QEM search, and its
// error is too (the error is flat near its minimum, so the error is the sharper check).
TEST(Sawb, PredictsTheQemAlphaOfNewData) {
  std::mt19937_64 rng(99);
  std::normal_distribution<float> normal(0.1f, 0.05f);
  std::vector<float> w(1 << 16);
  for (float& x : w) x = normal(rng) - 0.1f;
  for (int bits : {3, 4}) {
    const LevelSet set = LevelSet::apot(bits, 2, true);
    const SawbFit fit = fit_sawb(set);
    const double alpha = sawb_alpha(fit.coefficients, w.data(), w.size());
    const QemResult qem = qem_alpha(set, w.data(), w.size());
    EXPECT_NEAR(alpha / qem.alpha, 1.0, 0.10) << bits;
    EXPECT_LT(quantization_error(set, w.data(), w.size(), alpha).total(), 1.02 * qem.error.total()) << bits;
  }
}

TEST(Sawb, BadInputsAreErrors) {
  const SawbCoefficients c{3.0, 2.0};
  const std::vector<float> zeros(4, 0.0f), with_nan = {1.0f, NAN};
  EXPECT_THROW(sawb_alpha(c, nullptr, 0), std::invalid_argument);
  EXPECT_THROW(sawb_alpha(c, zeros.data(), zeros.size()), std::domain_error);
  EXPECT_THROW(sawb_alpha(c, with_nan.data(), with_nan.size()), std::domain_error);
  EXPECT_THROW(fit_sawb(LevelSet::apot(4, 2, false)), std::invalid_argument);
}

}  // namespace
}  // namespace apot
