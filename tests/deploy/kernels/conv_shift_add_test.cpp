// The reference convolution (deploy/kernels/conv/conv_shift_add.cpp), Fig. 3's shift-and-add datapath: the
// terms of its weights and the shifts and adds it counts (its outputs: conv_kernels_test.cpp).
#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/deploy/kernels/conv_cases.h"

namespace apot::deploy::test {
namespace {

TEST(ShiftAddWeight, TermsAddUpToTheIntegerForm) {
  for (const LevelSetSpec spec : {LevelSetSpec{Scheme::APoT, 4, 2, true}, LevelSetSpec{Scheme::APoT, 5, 2, true},
                                  LevelSetSpec{Scheme::APoT, 8, 2, true}, LevelSetSpec{Scheme::Uniform, 8, 1, true},
                                  LevelSetSpec{Scheme::PoT, 4, 2, true}, LevelSetSpec{Scheme::APoT, 4, 2, false}}) {
    const LevelSet set = spec.make();
    for (const Level& level : set.levels()) {
      const ShiftAddWeight w = shift_add_weight(set, level);
      int64_t sum = 0;
      for (int t = 0; t < w.terms; ++t) sum += int64_t{1} << w.shifts[t];
      EXPECT_EQ(w.sign * sum, level.integer) << set.describe() << " level " << level.value;
      EXPECT_EQ(w.terms, static_cast<int>(level.exponents.size()));
    }
  }
}

TEST(ShiftAddWeight, FourBitApotWeightsHaveAtMostTwoTerms) {
  // b = 4 signed, k = 2: one sign bit, 3 magnitude bits, levels gamma x (p0 + p1) (Eq. 6 with n = 1).
  const LevelSet set = LevelSet::apot(4, 2, true);
  EXPECT_EQ(shift_add_weight(set, find_level(set, 0.0)).terms, 0);
  int most = 0;
  for (const Level& level : set.levels()) most = std::max<int>(most, shift_add_weight(set, level).terms);
  EXPECT_EQ(most, 2);
}

// Each nonzero term is one shift and one add at every output position (padding taps included); a zero
// term costs nothing. The terms of a level are the set bits of its integer form (the additive terms
// of APoT have disjoint exponents), an independent count.
TEST(ConvShiftAdd, CountsOneShiftAndOneAddPerNonzeroTermAndOutput) {
  for (const ConvCase& c : edge_cases(CodeType::U8)) {
    const ConvFixture f = make_fixture(c, 3);
    int64_t terms = 0;
    for (const int32_t w : f.layer.weights) terms += __builtin_popcount(static_cast<unsigned>(std::abs(w)));
    ShiftAddCounts counts;
    run_conv(*make_conv_kernel(Kernel::ShiftAdd, f.layer), f, 4, &counts);
    const int64_t positions = c.batch * f.shape.out.pixels();
    EXPECT_EQ(counts.shifts, terms * positions) << describe(c);
    EXPECT_EQ(counts.adds, terms * positions) << describe(c);
  }
}

TEST(ConvShiftAdd, ZeroWeightsCostNothing) {
  ConvCase c;
  ConvFixture f = make_fixture(c, 5);
  const LevelSet set = c.weights.make();
  const std::vector<uint16_t> zeros(f.layer.weights.size(), static_cast<uint16_t>(find_level(set, 0.0).code));
  f.layer = ConvLayer::from_codes(f.shape, set, zeros.data(), f.layer.multiplier.data(), f.layer.shift.data(),
                                  f.layer.bias.data(), false);
  ShiftAddCounts counts;
  const std::vector<int32_t> out = run_conv(*make_conv_kernel(Kernel::ShiftAdd, f.layer), f, 1, &counts);
  EXPECT_EQ(counts, ShiftAddCounts{});
  EXPECT_EQ(out, reference_conv(f));
}

TEST(ConvShiftAdd, NeedsTheTerms) {
  ConvFixture f = make_fixture(ConvCase{}, 1);
  f.layer.terms.clear();
  EXPECT_THROW(make_conv_kernel(Kernel::ShiftAdd, f.layer), std::invalid_argument);
}

}  // namespace
}  // namespace apot::deploy::test
