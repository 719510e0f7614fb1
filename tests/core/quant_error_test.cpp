#include "core/quant_error.h"
#include "tests/support/random.h"

#include <cmath>

#include <gtest/gtest.h>

namespace apot {
namespace {

using test::gaussian_samples;

// Eq. 14 by hand on the ternary set {-1, 0, 1}.
TEST(QuantError, SplitsIntoClippingAndProjection) {
  const LevelSet ternary = LevelSet::uniform(2, true);
  const std::vector<float> w = {-3.0f, -0.4f, 0.2f, 0.6f, 2.0f};
  const QuantError e = quantization_error(ternary, w.data(), w.size(), 1.0);
  EXPECT_NEAR(e.clip, (4.0 + 1.0) / 5, 1e-12);
  EXPECT_NEAR(e.projection, (0.16 + 0.04 + 0.16) / 5, 1e-7);
  EXPECT_NEAR(e.total(), e.clip + e.projection, 1e-15);
}

TEST(QuantError, UnsignedSetsClipNegativeValuesToZero) {
  const LevelSet set = LevelSet::uniform(2, false);  // {0, 1/3, 2/3, 1}
  const std::vector<float> x = {-0.5f, 1.5f, 0.3f};
  const QuantError e = quantization_error(set, x.data(), x.size(), 1.0);
  EXPECT_NEAR(e.clip, (0.25 + 0.25) / 3, 1e-12);
  EXPECT_NEAR(e.projection, std::pow(0.3 - 1.0 / 3, 2) / 3, 1e-7);
}

// The optimal ternary quantiser of a unit Gaussian has levels 0, +-1.2240 (Lloyd-Max).
TEST(QuantError, QemFindsTheKnownTernaryOptimumOfAGaussian) {
  const auto w = gaussian_samples(1 << 18, 7);
  const QemResult r = qem_alpha(LevelSet::uniform(2, true), w.data(), w.size());
  EXPECT_NEAR(r.alpha, 1.224, 0.012);
}

TEST(QuantError, QemIsNoWorseThanAFineScan) {
  const auto w = gaussian_samples(20000, 8);
  for (const LevelSet& set : {LevelSet::apot(4, 2, true), LevelSet::uniform(4, true), LevelSet::pot(4, true)}) {
    const QemResult r = qem_alpha(set, w.data(), w.size());
    double best = INFINITY;
    double top = 0;
    for (float x : w) top = std::max(top, static_cast<double>(std::fabs(x)));
    for (int j = 1; j <= 2000; ++j) best = std::min(best, quantization_error(set, w.data(), w.size(), top * j / 2000).total());
    EXPECT_LE(r.error.total(), best * (1 + 1e-3)) << set.describe();
    EXPECT_GT(r.error.clip, 0.0) << "the optimum clips some outliers";
  }
}

TEST(QuantError, BadInputsAreErrors) {
  const LevelSet set = LevelSet::apot(4, 2, true);
  const std::vector<float> zeros(10, 0.0f), with_nan = {0.1f, NAN};
  EXPECT_THROW(quantization_error(set, nullptr, 0, 1.0), std::invalid_argument);
  EXPECT_THROW(quantization_error(set, zeros.data(), zeros.size(), 0.0), std::invalid_argument);
  EXPECT_THROW(quantization_error(set, with_nan.data(), with_nan.size(), 1.0), std::domain_error);
  EXPECT_THROW(qem_alpha(set, nullptr, 0), std::invalid_argument);
  EXPECT_THROW(qem_alpha(set, zeros.data(), zeros.size()), std::invalid_argument);
  EXPECT_THROW(qem_alpha(set, with_nan.data(), with_nan.size()), std::domain_error);
  const std::vector<float> negative = {-1.0f, -2.0f};
  EXPECT_THROW(qem_alpha(LevelSet::apot(4, 2, false), negative.data(), negative.size()), std::invalid_argument);
}

}  // namespace
}  // namespace apot
