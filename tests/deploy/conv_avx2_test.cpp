// The AVX2 convolution (deploy/conv_avx2.cpp through deploy/conv_blocked.cpp) against the independent
// reference, bit for bit: int16 codes (vpmaddwd) on shapes at and around its 12- and 6-pixel tiles, uint8
// codes (vpmaddubsw) around its 11- and 5-pixel tiles, both with 8- and 16-channel blocks.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/deploy/conv_cases.h"

namespace apot::deploy::test {
namespace {

// The largest uint8 code with which the case's weights keep vpmaddubsw's int16 pair sums exact.
int32_t exact_u8_code(const ConvCase& c) {
  const int32_t max_weight = static_cast<int32_t>(c.weights.make().levels().back().integer);
  return std::min<int32_t>(255, 32767 / (2 * max_weight));
}

class ConvAvx2 : public ::testing::TestWithParam<CodeType> {
 protected:
  void SetUp() override {
    if (!cpu_supports(IsaLevel::Avx2)) GTEST_SKIP() << "no AVX2";
  }
};

TEST_P(ConvAvx2, MatchesTheReferenceOnEdgeShapes) {
  uint32_t seed = 21;
  for (const ConvCase& c : edge_cases(GetParam())) {
    const ConvFixture f = make_fixture(c, seed++, GetParam() == CodeType::U8 ? exact_u8_code(c) : 0);
    const auto kernel = make_conv_kernel(Kernel::Avx2, f.layer);
    const std::vector<int32_t> expected = reference_conv(f);
    EXPECT_EQ(run_conv(*kernel, f, 1), expected) << describe(c);
    EXPECT_EQ(run_conv(*kernel, f, 7), expected) << describe(c) << " (work split in 7)";
  }
}

// uint8: 8-bit weights at +-127 and codes at 129, the largest whose pair sums (2 x 129 x 127 = 32766)
// fit int16.
TEST_P(ConvAvx2, AtTheAccumulationBound) {
  for (const int sign : {1, -1}) {
    for (const int code_sign : {1, -1}) {
      const ConvFixture f = bound_fixture(GetParam(), sign, code_sign, sign > 0, /*u8_code=*/129);
      EXPECT_EQ(run_conv(*make_conv_kernel(Kernel::Avx2, f.layer), f), reference_conv(f));
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

}  // namespace
}  // namespace apot::deploy::test
