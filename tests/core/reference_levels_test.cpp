// The public reference implementation (yhhhli/APoT_Quantization, CIFAR10/models/quant_layer.py) builds
// its level sets for B magnitude bits from up to three base lists of powers 2^-e, sums every
// combination and scales the float32 result so that its largest level is 1. The exponents below are
// its base lists, read off that code; the test checks that our sets (paper Eq. 5 / Eq. 6 with k = 2,
// and PoT) equal them after that normalisation.
#include <algorithm>
#include <cmath>
#include <set>

#include <gtest/gtest.h>

#include "core/levels.h"

namespace apot {
namespace {

std::vector<float> reference_levels(const std::vector<std::vector<int>>& base_exponents) {
  std::vector<double> sums = {0.0};
  for (const auto& base : base_exponents) {
    std::vector<double> next;
    for (double s : sums) {
      next.push_back(s);  // every base list also holds 0
      for (int e : base) next.push_back(s + std::ldexp(1.0, -e));
    }
    sums = next;
  }
  std::set<double> unique(sums.begin(), sums.end());
  std::vector<float> levels(unique.begin(), unique.end());  // torch.Tensor: float32
  const float scale = 1.0f / levels.back();
  for (float& v : levels) v *= scale;
  return levels;
}

void expect_equal_after_normalisation(const LevelSet& ours, const std::vector<float>& reference) {
  const auto& mags = ours.magnitudes();
  ASSERT_EQ(mags.size(), reference.size()) << ours.describe();
  for (size_t i = 0; i < mags.size(); ++i) {
    // The reference multiplies by a float32 reciprocal: equal to within one float rounding.
    EXPECT_NEAR(mags[i].value, reference[i], 1e-7 * std::max(1.0, mags[i].value)) << ours.describe() << " level " << i;
  }
}

TEST(ReferenceLevels, AdditiveSetsMatchForMagnitudeBitsTwoToSix) {
  const std::vector<std::vector<std::vector<int>>> reference_bases = {
      /*B=2*/ {{1, 2, 3}},
      /*B=3*/ {{1, 2, 4}, {3}},
      /*B=4*/ {{1, 3, 5}, {2, 4, 6}},
      /*B=5*/ {{1, 3, 6}, {2, 4, 7}, {5}},
      /*B=6*/ {{1, 4, 7}, {2, 5, 8}, {3, 6, 9}},
  };
  for (int magnitude_bits = 2; magnitude_bits <= 6; ++magnitude_bits) {
    const auto reference = reference_levels(reference_bases[magnitude_bits - 2]);
    // Weights: one more bit for the sign; activations: unsigned.
    expect_equal_after_normalisation(LevelSet::apot(magnitude_bits + 1, 2, /*is_signed=*/true), reference);
    expect_equal_after_normalisation(LevelSet::apot(magnitude_bits, 2, /*is_signed=*/false), reference);
  }
}

TEST(ReferenceLevels, NonAdditiveSetsArePot) {
  for (int magnitude_bits = 2; magnitude_bits <= 4; ++magnitude_bits) {
    std::vector<int> base;  // the reference's additive=False branch: 2^-1 .. 2^-(2^B - 1)
    for (int i = 0; i < (1 << magnitude_bits) - 1; ++i) base.push_back(i + 1);
    expect_equal_after_normalisation(LevelSet::pot(magnitude_bits, false), reference_levels({base}));
  }
}

}  // namespace
}  // namespace apot
