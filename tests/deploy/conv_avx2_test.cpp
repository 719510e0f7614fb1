// The AVX2 convolution (deploy/conv_avx2.cpp through deploy/conv_blocked.cpp) against the independent
// reference, bit for bit: int16 codes (vpmaddwd) and uint8 codes (vpmaddubsw, summed in int16) on shapes
// at and around its 12- and 6-pixel tiles, with 8- and 16-channel blocks.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/deploy/conv_cases.h"

namespace apot::deploy::test {
namespace {

// The largest uint8 code with which the case's weights keep vpmaddubsw's int16 pair sums exact, or with
// which int16 adds `sums` of them exactly (conv_kernel.h, avx2_u8_int16_sums).
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

// uint8: with codes up to the largest value for which int16 adds 1 pair sum exactly and 3 (within 255:
// 8-bit weights widen after every group of four input channels or every third, 4-bit weights every 6th
// group, within a tap's channels or across taps) and up to 4-bit activations' 48 (34 sums with 4-bit
// weights, longer than most reductions here).
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

// Where the pair sums could saturate, the uint8 kernel is refused (the engine then keeps int16 codes).
TEST(ConvAvx2U8, RefusesCodesAndWeightsWhosePairSumsSaturate) {
  if (!cpu_supports(IsaLevel::Avx2)) GTEST_SKIP() << "no AVX2";
  ConvCase c;
  c.weights = LevelSetSpec{Scheme::Uniform, 8, 1, true};  // integers up to 127
  EXPECT_NO_THROW(make_conv_kernel(Kernel::Avx2, make_fixture(c, 1, 129).layer));
  ConvLayer layer = make_fixture(c, 1, 130).layer;
  try {
    make_conv_kernel(Kernel::Avx2, layer);
    ADD_FAILURE() << "accepted codes up to 130 with weights up to 127";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("codes up to 130 and weights up to 127 would saturate"), std::string::npos)
        << e.what();
  }
  layer.max_input = 0;  // unknown: any uint8
  EXPECT_THROW(make_conv_kernel(Kernel::Avx2, layer), std::invalid_argument);
  c.type = CodeType::S16;
  EXPECT_NO_THROW(make_conv_kernel(Kernel::Avx2, make_fixture(c, 1).layer));
  EXPECT_TRUE(avx2_u8_exact(129, 127));
  EXPECT_FALSE(avx2_u8_exact(130, 127));
}

TEST(ConvAvx2U8, Int16SumsAreTheMostThatCannotOverflow) {
  EXPECT_EQ(avx2_u8_int16_sums(129, 127), 1);
  EXPECT_EQ(avx2_u8_int16_sums(130, 127), 0);
  EXPECT_EQ(avx2_u8_int16_sums(64, 127), 2);
  EXPECT_EQ(avx2_u8_int16_sums(43, 127), 3);
  EXPECT_EQ(avx2_u8_int16_sums(44, 127), 2);
  EXPECT_EQ(avx2_u8_int16_sums(48, 10), 34);  // 4-bit APoT activations and weights
  EXPECT_EQ(avx2_u8_int16_sums(1, 1), kMaxInt16Sums);
  EXPECT_EQ(avx2_u8_int16_sums(255, 0), kMaxInt16Sums);  // all-zero weights
}

}  // namespace
}  // namespace apot::deploy::test
