#include "core/lloyd.h"

#include <cmath>

#include <gtest/gtest.h>

#include "core/levels.h"
#include "core/quant_error.h"
#include "tests/support/random.h"

namespace apot {
namespace {

using test::gaussian_samples;

TEST(Lloyd, TernaryGaussianConvergesToTheKnownOptimum) {
  const auto w = gaussian_samples(1 << 18, 9);
  const auto mags = lloyd_max_magnitudes(w.data(), w.size(), 1, true, /*alpha=*/10.0);
  ASSERT_EQ(mags.size(), 2u);
  EXPECT_EQ(mags[0], 0.0);
  EXPECT_NEAR(mags[1] * 10.0, 1.224, 0.012);
}

// Lloyd's fixed point: every level but 0 is the mean of the data nearest to it.
TEST(Lloyd, LevelsAreCentroidsOfTheirCells) {
  const auto w = gaussian_samples(50000, 10);
  const double alpha = 3.0;
  const auto mags = lloyd_max_magnitudes(w.data(), w.size(), 3, true, alpha);
  for (size_t j = 1; j < mags.size(); ++j) {
    const double low = (mags[j - 1] + mags[j]) / 2, high = j + 1 < mags.size() ? (mags[j] + mags[j + 1]) / 2 : 2.0;
    double sum = 0;
    size_t count = 0;
    for (float x : w) {
      const double a = std::min(std::fabs(x) / alpha, 1.0);
      if (a >= low && a < high) sum += a, ++count;
    }
    ASSERT_GT(count, 0u);
    EXPECT_NEAR(mags[j], sum / count, 1e-6) << "level " << j;
  }
}

TEST(Lloyd, FitsGaussianWeightsBetterThanFixedSets) {
  const auto w = gaussian_samples(50000, 11);
  const double alpha = 2.5;
  const LevelSet lloyd = LevelSet::lloyd(lloyd_max_magnitudes(w.data(), w.size(), 3, true, alpha), 4, true);
  const double lloyd_error = quantization_error(lloyd, w.data(), w.size(), alpha).total();
  for (const LevelSet& other : {LevelSet::apot(4, 2, true), LevelSet::uniform(4, true)}) {
    EXPECT_LT(lloyd_error, quantization_error(other, w.data(), w.size(), alpha).total()) << other.describe();
  }
}

TEST(Lloyd, BadInputsAreErrors) {
  const std::vector<float> w = {0.1f, NAN};
  EXPECT_THROW(lloyd_max_magnitudes(nullptr, 0, 3, true, 1.0), std::invalid_argument);
  EXPECT_THROW(lloyd_max_magnitudes(w.data(), 1, 0, true, 1.0), std::invalid_argument);
  EXPECT_THROW(lloyd_max_magnitudes(w.data(), 1, 3, true, 0.0), std::invalid_argument);
  EXPECT_THROW(lloyd_max_magnitudes(w.data(), 2, 3, true, 1.0), std::domain_error);
}

}  // namespace
}  // namespace apot
