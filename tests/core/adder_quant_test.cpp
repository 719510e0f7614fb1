// The adder layer's post-training quantisation: the lossless weight clamp (on the quantised integers and
// on a layer's float weights), the groups and scales of both methods, the codes at their edges, the
// official outlier percentile, determinism and bad input.
#include "core/adder_quant.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <vector>

namespace apot {
namespace {

// The identity the clamp rests on, |a - W| = |a - clamp(W, -A, A)| + max(|W| - A, 0) for every input a in
// [-A, A], on the integers the quantised layer sums: A = 2^b - 1 activation steps, weights W = 2q on the
// signed grid and beyond it (the weights a clamp moves).
TEST(AdderQuant, ClampIsLosslessOnTheQuantisedIntegers) {
  for (int bits = 2; bits <= 8; ++bits) {
    const int range = (1 << bits) - 1;
    for (int w = -3 * range; w <= 3 * range; ++w) {
      const int clamped = std::clamp(w, -range, range), excess = std::max(std::abs(w) - range, 0);
      for (int a = -range; a <= range; ++a) {
        ASSERT_EQ(std::abs(a - w), std::abs(a - clamped) + excess) << bits << " bits, a " << a << ", w " << w;
      }
    }
  }
}

// Kernels of four clearly separated magnitudes: max |w| of 1, 2, 4 and 8 (two kernels each, 9 taps).
std::vector<float> four_magnitudes() {
  std::vector<float> w;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> small(-0.5f, 0.5f);
  for (float m : {8.0f, 1.0f, 4.0f, 2.0f, 1.0f, 8.0f, 2.0f, 4.0f}) {
    for (int k = 0; k < 9; ++k) w.push_back(k == 4 ? (w.size() % 2 ? -m : m) : small(rng) * m);
  }
  return w;
}

TEST(AdderQuant, RedistributionGroupsKernelsByTheirLargestWeight) {
  const std::vector<float> w = four_magnitudes();
  const AdderLayerQuant q = plan_adder_quant(w.data(), 8, 9, /*input_range=*/3.0f, 4, AdderPtqMethod::Redistribution, 4, 7);
  ASSERT_EQ(q.groups(), 4);
  EXPECT_EQ(q.group, (std::vector<int>{3, 0, 2, 1, 0, 3, 1, 2}));  // ascending in max |w|
  // s_g = min(M_g, alpha): the groups of 1 and 2 keep their own scale, 4 and 8 take the input range.
  EXPECT_EQ(q.group_scale, (std::vector<float>{1.0f, 2.0f, 3.0f, 3.0f}));
  for (int t = 0; t < 8; ++t) {
    const float s = q.group_scale[static_cast<size_t>(q.group[static_cast<size_t>(t)])];
    double excess = 0;
    for (int k = 0; k < 9; ++k) excess += std::max(std::fabs(w[static_cast<size_t>(t * 9 + k)]) - s, 0.0f);
    EXPECT_FLOAT_EQ(q.bias[static_cast<size_t>(t)], static_cast<float>(-excess)) << "kernel " << t;
    EXPECT_EQ(q.bias[static_cast<size_t>(t)] < 0, s == 3.0f) << "kernel " << t;
  }
}

// On a layer's float weights: every input in [0, alpha] sees the same -sum |x - w| through the clamped
// weights plus the bias, up to float rounding; groups inside alpha are not clamped at all.
TEST(AdderQuant, ClampPlusBiasGivesTheSameOutputs) {
  const std::vector<float> w = four_magnitudes();
  const float alpha = 3.0f;
  const AdderLayerQuant q = plan_adder_quant(w.data(), 8, 9, alpha, 4, AdderPtqMethod::Redistribution, 4, 7);
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> input(0.0f, alpha);
  for (int t = 0; t < 8; ++t) {
    const double s = q.group_scale[static_cast<size_t>(q.group[static_cast<size_t>(t)])];
    if (s < alpha) {
      EXPECT_EQ(q.bias[static_cast<size_t>(t)], 0.0f) << "kernel " << t;
      continue;
    }
    for (int trial = 0; trial < 100; ++trial) {
      double plain = 0, clamped = q.bias[static_cast<size_t>(t)];
      for (int k = 0; k < 9; ++k) {
        const double x = input(rng), wk = w[static_cast<size_t>(t * 9 + k)];
        plain -= std::fabs(x - wk);
        clamped -= std::fabs(x - std::clamp(wk, -s, s));
      }
      EXPECT_NEAR(clamped, plain, 1e-5) << "kernel " << t;
    }
  }
}

TEST(AdderQuant, SharedScaleUsesOneScaleThatCoversBothOperands) {
  const std::vector<float> w = four_magnitudes();
  for (float alpha : {3.0f, 20.0f}) {
    const AdderLayerQuant q = plan_adder_quant(w.data(), 8, 9, alpha, 4, AdderPtqMethod::SharedScale, 4, 7);
    EXPECT_EQ(q.group_scale, std::vector<float>{std::max(8.0f, alpha)});
    EXPECT_EQ(q.group, std::vector<int>(8, 0));
    EXPECT_EQ(q.bias, std::vector<float>(8, 0.0f));
  }
}

TEST(AdderQuant, FewerDistinctKernelsThanGroupsGiveFewerGroups) {
  const std::vector<float> w = {1, -2, 2, 0.5f, -2, 1};  // three kernels of two taps, max |w| 2, 2, 2
  const AdderLayerQuant q = plan_adder_quant(w.data(), 3, 2, 5.0f, 4, AdderPtqMethod::Redistribution, 4, 0);
  EXPECT_EQ(q.groups(), 1);
  EXPECT_EQ(q.group_scale, std::vector<float>{2.0f});
}

TEST(AdderQuant, IsDeterministicForASeed) {
  std::vector<float> w(64 * 27);
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  for (float& v : w) v = normal(rng);
  const AdderLayerQuant a = plan_adder_quant(w.data(), 64, 27, 2.5f, 4, AdderPtqMethod::Redistribution, 4, 9);
  const AdderLayerQuant b = plan_adder_quant(w.data(), 64, 27, 2.5f, 4, AdderPtqMethod::Redistribution, 4, 9);
  EXPECT_EQ(a.group, b.group);
  EXPECT_EQ(a.group_scale, b.group_scale);
  EXPECT_EQ(a.bias, b.bias);
}

TEST(AdderQuant, CodesAtTheirEdges) {
  for (int bits = 2; bits <= 8; ++bits) {
    const int levels = (1 << bits) - 1, half = 1 << (bits - 1);
    const float s = 1.7f;
    EXPECT_EQ(adder_act_code(0.0f, s, bits), 0);
    EXPECT_EQ(adder_act_code(-5.0f, s, bits), 0);
    EXPECT_EQ(adder_act_code(s, s, bits), levels);
    EXPECT_EQ(adder_act_code(10 * s, s, bits), levels);
    EXPECT_EQ(adder_act_code(s / static_cast<float>(levels) * 3, s, bits), std::min(3, levels));
    // The signed weight grid has one more step below zero: +s rounds to 2^(b-1) and clips one step down.
    EXPECT_EQ(adder_weight_code(s, s, bits), 2 * (half - 1));
    EXPECT_EQ(adder_weight_code(-s, s, bits), -2 * half);
    EXPECT_EQ(adder_weight_code(-10 * s, s, bits), -2 * half);
    EXPECT_EQ(adder_weight_code(0.0f, s, bits), 0);
  }
  // Halves round to even, as torch.round: 2.5 steps -> 2, 3.5 -> 4.
  EXPECT_EQ(adder_act_code(2.5f, 15.0f, 4), 2);
  EXPECT_EQ(adder_act_code(3.5f, 15.0f, 4), 4);
}

TEST(AdderQuant, PercentileIndexIsTheOfficialOne) {
  std::vector<float> x(10000);
  std::iota(x.begin(), x.end(), 0.0f);
  std::shuffle(x.begin(), x.end(), std::mt19937(1));
  for (float& v : x) v = -v;  // |x| is what counts
  // int((round(10000 * 0.9997) - 1) * 0.9997) = int(9996 * 0.9997) = 9993.
  EXPECT_EQ(abs_percentile(x.data(), x.size(), 0.9997), 9993.0f);
  EXPECT_EQ(abs_percentile(x.data(), x.size(), 1.0), 9999.0f);
  const float one = 4.0f;
  EXPECT_EQ(abs_percentile(&one, 1, 0.5), 4.0f);
}

TEST(AdderQuant, BadInputIsNamed) {
  const std::vector<float> w = four_magnitudes();
  const auto plan = [&](float range, int bits, int groups) {
    return plan_adder_quant(w.data(), 8, 9, range, bits, AdderPtqMethod::Redistribution, groups, 0);
  };
  EXPECT_THROW(plan(1.0f, 1, 4), std::invalid_argument);
  EXPECT_THROW(plan(1.0f, kMaxAdderBits + 1, 4), std::invalid_argument);
  EXPECT_THROW(plan(1.0f, 4, 0), std::invalid_argument);
  EXPECT_THROW(plan(0.0f, 4, 4), std::invalid_argument);
  EXPECT_THROW(plan(std::numeric_limits<float>::quiet_NaN(), 4, 4), std::invalid_argument);
  std::vector<float> bad = w;
  bad[5] = std::numeric_limits<float>::infinity();
  EXPECT_THROW(plan_adder_quant(bad.data(), 8, 9, 1.0f, 4, AdderPtqMethod::Redistribution, 4, 0), std::invalid_argument);
  EXPECT_THROW(abs_percentile(w.data(), 0, 0.9), std::invalid_argument);
  EXPECT_THROW(abs_percentile(w.data(), w.size(), 0.0), std::invalid_argument);
  EXPECT_THROW(abs_percentile(bad.data(), bad.size(), 0.9), std::invalid_argument);
  EXPECT_THROW(parse_adder_ptq_method("qssf"), std::invalid_argument);
  EXPECT_EQ(parse_adder_ptq_method("shared-scale"), AdderPtqMethod::SharedScale);
}

}  // namespace
}  // namespace apot
