// The AVX2 convolution (deploy/conv_avx2.cpp through deploy/conv_blocked.cpp) against the independent
// reference, bit for bit: int16 codes (vpmaddwd) and uint8 codes (vpmaddubsw, summed in int16) on shapes
// at and around its 12- and 6-pixel tiles, with 8- and 16-channel blocks.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/deploy/conv_cases.h"

namespace apot::deploy::test {
namespace {

// The largest uint8 code with which the case's largest weights keep vpmaddubsw's int16 pair sums exact,
// or with which int16 adds `sums` of them exactly.
int32_t exact_u8_code(const ConvCase& c, int sums = 1) {
  const int32_t max_weight = static_cast<int32_t>(c.weights.make().levels().back().integer);
  return std::min<int32_t>(255, 32767 / (2 * max_weight * sums));
}

class ConvAvx2 : public ::testing::TestWithParam<CodeType> {
 protected:
  void SetUp() override {
    if (!cpu_supports(IsaLevel::Avx2)) GTEST_SKIP() << "no AVX2";
  }
};

// uint8: with codes up to the largest value for which int16 adds even the largest pair sums once and
// three times (within 255), and up to 4-bit activations' 48: the kernel widens after every few groups
// or once per tile (avx2_u8_int16_sums, from the layer's weights), within a tap's channels or across taps.
TEST_P(ConvAvx2, MatchesTheReferenceOnEdgeShapes) {
  uint32_t seed = 21;
  for (const ConvCase& c : edge_cases(GetParam())) {
    std::vector<int32_t> codes = {0};  // int16: the fixture's largest
    if (GetParam() == CodeType::U8) {
      codes = {exact_u8_code(c), exact_u8_code(c, 3), std::min(48, exact_u8_code(c))};
      codes.erase(std::unique(codes.begin(), codes.end()), codes.end());
    }
    for (const int32_t code : codes) {
      const ConvFixture f = make_fixture(c, seed++, code);
      const auto kernel = make_conv_kernel(Kernel::Avx2, f.layer);
      const std::vector<int32_t> expected = reference_conv(f);
      EXPECT_EQ(run_conv(*kernel, f, 1), expected) << describe(c) << ", codes up to " << f.max_code;
      EXPECT_EQ(run_conv(*kernel, f, 7), expected) << describe(c) << ", codes up to " << f.max_code
                                                    << " (work split in 7)";
    }
  }
}

// Every code and weight at its extreme (bound_fixture) over reductions of thousands of groups. uint8:
// 8-bit weights at +-127 and codes at 129 (pair sums 2 x 129 x 127 = 32766, widened every group), 64
// (2 sums, 32512) and 43 (3 sums, 32766): the int16 sums reach the bound before each widening.
TEST_P(ConvAvx2, AtTheAccumulationBound) {
  std::vector<int32_t> codes = {0};  // int16: ignored
  if (GetParam() == CodeType::U8) codes = {129, 64, 43};
  for (const int32_t code : codes) {
    for (const int sign : {1, -1}) {
      for (const int code_sign : {1, -1}) {
        const ConvFixture f = bound_fixture(GetParam(), sign, code_sign, sign > 0, code);
        EXPECT_EQ(run_conv(*make_conv_kernel(Kernel::Avx2, f.layer), f), reference_conv(f))
            << "codes " << code << ", weights " << 127 * sign;
      }
    }
  }
}

TEST_P(ConvAvx2, FusedActQuant) { expect_fused_act_quant(Kernel::Avx2, fused_cases(GetParam())); }

INSTANTIATE_TEST_SUITE_P(Codes, ConvAvx2, ::testing::Values(CodeType::U8, CodeType::S16),
                         [](const auto& info) { return info.param == CodeType::U8 ? "u8" : "s16"; });

TEST(ConvAvx2Shortcut, ComputedByTheConvolutionThatAddsIt) {
  if (!cpu_supports(IsaLevel::Avx2)) GTEST_SKIP() << "no AVX2";
  expect_computed_residual(Kernel::Avx2);
}

// Where a pair sum of the layer's weights could saturate at the largest code, the uint8 kernel is
// refused (the engine then keeps int16 codes): 8-bit weights at 127, codes up to 129 pass, 130 not.
TEST(ConvAvx2U8, RefusesCodesAndWeightsWhosePairSumsSaturate) {
  if (!cpu_supports(IsaLevel::Avx2)) GTEST_SKIP() << "no AVX2";
  ConvFixture f = bound_fixture(CodeType::U8, 1, 1, false, 129);
  EXPECT_NO_THROW(make_conv_kernel(Kernel::Avx2, f.layer));
  f.layer.max_input = 130;
  try {
    make_conv_kernel(Kernel::Avx2, f.layer);
    ADD_FAILURE() << "accepted codes up to 130 with weights up to 127";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("codes up to 130 and weights up to 127 would saturate"), std::string::npos)
        << e.what();
  }
  f.layer.max_input = 0;  // unknown: any uint8
  EXPECT_THROW(make_conv_kernel(Kernel::Avx2, f.layer), std::invalid_argument);
  ConvCase c;
  c.type = CodeType::S16;
  EXPECT_NO_THROW(make_conv_kernel(Kernel::Avx2, make_fixture(c, 1).layer));
  EXPECT_TRUE(avx2_u8_exact(129, 127));
  EXPECT_FALSE(avx2_u8_exact(130, 127));
}

// A 1x1 layer of 8 input channels, 1 output channel: the weights of each pair of channels (int16 lane
// 0: channels 0, 1 and 4, 5; lane 1: 2, 3 and 6, 7) given, codes up to `code`.
ConvLayer pair_layer(const std::vector<int32_t>& weights, int32_t code) {
  ConvLayer layer;
  layer.shape = ConvShape::make(CodesLayout::make(CodeType::U8, 8, 1, 1, 0), 1, 1, 1, 0);
  layer.weights = weights;
  layer.max_input = code;
  return layer;
}

TEST(ConvAvx2U8, Int16SumsAreTheMostThatCannotOverflow) {
  // Every weight 127: each pair sum is 2 x 127 x code, the two groups of a lane add two.
  const std::vector<int32_t> max(8, 127);
  EXPECT_EQ(avx2_u8_int16_sums(pair_layer(max, 129)), 1);   // 32766: one fits, two do not
  EXPECT_EQ(avx2_u8_int16_sums(pair_layer(max, 130)), 0);   // 33020: not even one
  EXPECT_EQ(avx2_u8_int16_sums(pair_layer(max, 64)), kMaxInt16Sums);  // 2 x 16256 = 32512: all fit
  // The k largest of a lane's pair sums: lane 0's two are 127 + 127 and 1 + 1 (x 128: 32512 + 256 > 32767,
  // so 1), lane 1's 0 + 0 twice.
  EXPECT_EQ(avx2_u8_int16_sums(pair_layer({127, 127, 0, 0, 1, 1, 0, 0}, 128)), 1);
  EXPECT_EQ(avx2_u8_int16_sums(pair_layer({127, 127, 0, 0, 1, 1, 0, 0}, 127)), kMaxInt16Sums);  // 32258 + 254
  EXPECT_EQ(avx2_u8_int16_sums(pair_layer({-127, -127, 0, 0, -1, -1, 0, 0}, 128)), 1);  // magnitudes count
  EXPECT_EQ(avx2_u8_int16_sums(pair_layer(std::vector<int32_t>(8, 0), 255)), kMaxInt16Sums);
}

// The bounds the requantisation's unsaturated form relies on (deploy/requant.h): uint8 codes are >= 0,
// so a channel's range is the code bound times its negative and its positive weights; int16 codes may
// be negative, so both ends take the sum of |weights|.
TEST(ConvKernel, AccRangesAreTheCodeBoundTimesTheWeights) {
  ConvLayer layer = pair_layer({3, -2, 0, 5, -7, 1, 0, 0}, 10);
  std::vector<AccRange> ranges = acc_ranges(layer);
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges[0].min, -90);
  EXPECT_EQ(ranges[0].max, 90);
  layer.weights = {3, -2, 0, 5, 0, 1, 0, 0};
  ranges = acc_ranges(layer);
  EXPECT_EQ(ranges[0].min, -20);
  EXPECT_EQ(ranges[0].max, 90);
  layer.max_input = 0;  // any uint8 code
  EXPECT_EQ(acc_ranges(layer)[0].max, 9 * 255);
  layer.shape = ConvShape::make(CodesLayout::make(CodeType::S16, 8, 1, 1, 0), 1, 1, 1, 0);
  layer.max_input = 10;
  ranges = acc_ranges(layer);
  EXPECT_EQ(ranges[0].min, -110);
  EXPECT_EQ(ranges[0].max, 110);
  layer.max_input = 0;  // any int16 code, -32768 included
  EXPECT_EQ(acc_ranges(layer)[0].min, -11 * 32768);
}

}  // namespace
}  // namespace apot::deploy::test
