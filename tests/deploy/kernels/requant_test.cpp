// Requantisation (deploy/kernels/requant/requant.h): the formula of deploy/format/integer_model.h against __int128 arithmetic,
// and the AVX2 / AVX-512 row kernels against the scalar one, bit for bit, at every extreme.
#include "deploy/kernels/requant/requant.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "tests/deploy/kernels/every_isa.h"

namespace apot::deploy {
namespace {

constexpr int32_t kMin = std::numeric_limits<int32_t>::min(), kMax = std::numeric_limits<int32_t>::max();

int32_t sat(__int128 v) { return static_cast<int32_t>(std::clamp<__int128>(v, kMin, kMax)); }

// The contract, written independently: floor((acc * m + 2^(s-1)) / 2^s) in 128 bits.
int32_t expected(int32_t acc, int32_t m, int s, int32_t bias, const int32_t* residual, bool relu) {
  const __int128 p = static_cast<__int128>(acc) * m;
  int32_t y = sat((s == 0 ? p : (p + (static_cast<__int128>(1) << (s - 1))) >> s) + bias);
  if (residual != nullptr) y = sat(static_cast<__int128>(y) + *residual);
  return relu ? std::max(y, 0) : y;
}

TEST(RoundShift, RoundsHalfUp) {
  EXPECT_EQ(round_shift(5, 1), 3);    // 2.5 -> 3
  EXPECT_EQ(round_shift(-5, 1), -2);  // -2.5 -> -2
  EXPECT_EQ(round_shift(-6, 2), -1);  // -1.5 -> -1
  EXPECT_EQ(round_shift(-7, 2), -2);  // -1.75 -> -2
  EXPECT_EQ(round_shift(7, 0), 7);
  EXPECT_EQ(round_shift(int64_t{1} << 62, 62), 1);
  EXPECT_EQ(round_shift(-(int64_t{1} << 62), 62), -1);
  EXPECT_EQ(round_shift(int64_t{1} << 61, 62), 1);     // exactly one half
  EXPECT_EQ(round_shift(-(int64_t{1} << 61), 62), 0);  // minus one half rounds up
}

std::vector<int32_t> extremes32() {
  return {0, 1, -1, 2, -2, 3, 1000, -1000, 1 << 20, -(1 << 20), kMax, kMin, kMax - 1, kMin + 1, 1 << 30, -(1 << 30)};
}

TEST(Requant, FormulaAtTheExtremes) {
  for (const int32_t acc : extremes32()) {
    for (const int32_t m : extremes32()) {
      for (const int s : {0, 1, 2, 15, 30, 31, 32, 33, 61, 62}) {
        for (const int32_t bias : {0, 1, -1, kMax, kMin, 12345}) {
          for (const int32_t r : {0, -1, kMin, kMax, 1 << 30}) {
            for (const bool relu : {false, true}) {
              ASSERT_EQ(requant_output(acc, m, s, bias, &r, relu), expected(acc, m, s, bias, &r, relu))
                  << acc << " " << m << " " << s << " " << bias << " " << r << " " << relu;
            }
          }
          ASSERT_EQ(requant_one(acc, m, s, bias), expected(acc, m, s, bias, nullptr, false));
        }
      }
    }
  }
}

TEST(Requant, SaturatesBeforeTheResidual) {
  // acc x m = 2^32 - 2 saturates to 2^31 - 1 first; the residual then brings it down to -1.
  const int32_t r = kMin;
  EXPECT_EQ(requant_output(2, kMax, 0, 0, &r, false), -1);
}

TEST(RequantTable, RefusesShiftsAbove62) {
  const int32_t m = 1, b = 0;
  const uint8_t ok = 62, bad = 63;
  EXPECT_NO_THROW(RequantTable(&m, &ok, &b, 1, 16));
  EXPECT_THROW(RequantTable(&m, &bad, &b, 1, 16), std::invalid_argument);
}

TEST(RequantTable, UnsaturatedOnlyWhereNoChannelCanLeaveInt32) {
  const int32_t one = 1, zero = 0, minus_one = -1, minus_two = -2, big = 1 << 30;
  const uint8_t s0 = 0, s1 = 1;
  const auto unsaturated = [](const int32_t& m, const uint8_t& s, const int32_t& b, int64_t min, int64_t max) {
    const AccRange range{min, max};
    return RequantTable(&m, &s, &b, 1, 8, &range).view().unsaturated;
  };
  EXPECT_FALSE(RequantTable(&one, &s0, &zero, 1, 8).view().unsaturated);  // no range given
  EXPECT_TRUE(unsaturated(one, s0, zero, -kMax, kMax));                   // acc itself
  EXPECT_FALSE(unsaturated(one, s0, one, -kMax, kMax));                   // kMax + 1
  EXPECT_TRUE(unsaturated(one, s0, one, -kMax, kMax - 1));                // each end on its own
  EXPECT_TRUE(unsaturated(one, s0, minus_one, -kMax, kMax));              // -kMax - 1 = kMin fits
  EXPECT_FALSE(unsaturated(one, s0, minus_two, -kMax, kMax));             // -kMax - 2 does not
  EXPECT_TRUE(unsaturated(one, s0, minus_two, -kMax + 1, kMax));
  EXPECT_TRUE(unsaturated(big, s1, zero, -3, 3));                         // 3 x 2^29 fits
  EXPECT_FALSE(unsaturated(big, s1, zero, -3, 4));                        // 4 x 2^29 = 2^31 does not
  EXPECT_TRUE(unsaturated(big, s1, zero, -4, 3));                         // -2^31 does
  EXPECT_FALSE(unsaturated(big, s0, zero, 0, int64_t{1} << 40));          // ends beyond int32 too
  EXPECT_FALSE(unsaturated(-big, s0, zero, -2, 0));                       // a negative multiplier's
  EXPECT_TRUE(unsaturated(-big, s0, zero, -1, 2));                        // ends swap: -2^31 fits
}

// Rows of accumulators and channels of parameters drawn from the extremes and at random; `bounded`:
// the table is given accumulator ranges (each end the farthest that cannot saturate, or a random nearer
// one) and the accumulators lie within them, so the kernels may take their unsaturated form.
struct RowsCase {
  int rows, channels;
  bool residual, relu;
  bool bounded = false;
};

using RequantKernel = test::EveryIsa;

// Against the scalar formula, on channel counts in multiples of the kernel's lanes (scalar: any).
TEST_P(RequantKernel, MatchesTheReference) {
  const int lanes = kernels().lanes > 1 ? kernels().lanes : 5;
  std::mt19937 rng(3);
  const std::vector<int32_t> ext = extremes32();
  const auto draw = [&](bool extreme) {
    return extreme ? ext[rng() % ext.size()] : static_cast<int32_t>(rng()) >> (rng() % 32);
  };
  for (const RowsCase rc :
       {RowsCase{1, lanes, false, false}, RowsCase{7, lanes, true, false}, RowsCase{5, 2 * lanes, true, true},
        RowsCase{33, 3 * lanes, false, true}, RowsCase{64, 4 * lanes, true, true},
        RowsCase{9, lanes, false, false, true}, RowsCase{17, 2 * lanes, true, true, true},
        RowsCase{33, 3 * lanes, false, true, true}}) {
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<int32_t> multiplier(rc.channels), bias(rc.channels);
      std::vector<uint8_t> shift(rc.channels);
      std::vector<AccRange> range(rc.channels);
      for (int c = 0; c < rc.channels; ++c) {
        multiplier[c] = draw(rng() % 3 == 0);
        bias[c] = draw(rng() % 3 == 0);
        shift[c] = static_cast<uint8_t>(rng() % 4 == 0 ? (rng() % 2 ? 0 : 62) : rng() % 63);
        // From 0 towards `side`, the farthest accumulator that requantises strictly inside int32
        // (monotone: a binary search), or a nearer one.
        const auto end = [&](int64_t side) {
          const auto inside = [&](int64_t a) {
            const int32_t acc = static_cast<int32_t>(side * a);
            const int32_t y = expected(acc, multiplier[c], shift[c], bias[c], nullptr, false);
            return y != kMin && y != kMax;
          };
          int64_t lo = 0, hi = kMax;
          while (lo < hi) {
            const int64_t mid = (lo + hi + 1) / 2;
            if (inside(mid)) {
              lo = mid;
            } else {
              hi = mid - 1;
            }
          }
          return side * (rng() % 2 ? lo : static_cast<int64_t>(rng() % (lo + 1)));
        };
        range[c] = {end(-1), end(1)};
      }
      const RequantTable table(multiplier.data(), shift.data(), bias.data(), rc.channels, rc.channels,
                               rc.bounded ? range.data() : nullptr);
      ASSERT_EQ(table.view().unsaturated, rc.bounded);
      const int64_t acc_stride = rc.channels + lanes, out_stride = rc.channels + 2 * lanes;  // wider rows
      const int64_t residual_stride = rc.channels + 3 * lanes;
      std::vector<int32_t> acc(rc.rows * acc_stride), residual(rc.rows * residual_stride);
      for (int64_t i = 0; i < static_cast<int64_t>(acc.size()); ++i) {
        int32_t& a = acc[i];
        a = draw(rng() % 3 == 0);
        const int c = static_cast<int>(i % acc_stride);
        if (rc.bounded && c < rc.channels) {  // within the range, its ends often
          const AccRange r = range[c];
          const int64_t inner = r.min + static_cast<int64_t>(rng() % (r.max - r.min + 1));
          a = static_cast<int32_t>(rng() % 3 == 0 ? (rng() % 2 ? r.min : r.max) : inner);
        }
      }
      for (int32_t& r : residual) r = draw(rng() % 3 == 0);
      std::vector<int32_t> expect(rc.rows * out_stride, 7), got(rc.rows * out_stride, 7);
      RequantRows rows;
      rows.acc = acc.data();
      rows.acc_stride = acc_stride;
      rows.residual = rc.residual ? residual.data() : nullptr;
      rows.residual_stride = residual_stride;
      rows.out_stride = out_stride;
      rows.rows = rc.rows;
      rows.channels = rc.channels;
      rows.relu = rc.relu;
      for (int64_t i = 0; i < rc.rows; ++i) {
        for (int c = 0; c < rc.channels; ++c) {
          expect[i * out_stride + c] = expected(acc[i * acc_stride + c], multiplier[c], shift[c], bias[c],
                                                rc.residual ? &residual[i * residual_stride + c] : nullptr, rc.relu);
        }
      }
      rows.out = got.data();
      kernels().requant_rows(table.view(), rows);
      ASSERT_EQ(got, expect) << rc.rows << " x " << rc.channels;
    }
  }
}

APOT_INSTANTIATE_EVERY_ISA(RequantKernel);

}  // namespace
}  // namespace apot::deploy
