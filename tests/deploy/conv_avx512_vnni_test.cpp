// The AVX-512 VNNI convolution (deploy/conv_avx512_vnni.cpp through deploy/conv_blocked.cpp): u8 x s8
// (vpdpbusd) and int16 (vpdpwssd) against the independent reference, bit for bit, on shapes at and
// around its 16 / 12 / 8 / 6-pixel tiles and blocks of 1..4 vectors of 16 channels.
#include <gtest/gtest.h>

#include "tests/deploy/conv_cases.h"

namespace apot::deploy::test {
namespace {

class ConvAvx512Vnni : public ::testing::TestWithParam<CodeType> {
 protected:
  void SetUp() override {
    if (!cpu_supports(IsaLevel::Avx512Vnni)) GTEST_SKIP() << "no AVX-512 VNNI";
  }
};

TEST_P(ConvAvx512Vnni, MatchesTheReferenceOnEdgeShapes) {
  uint32_t seed = 31;
  for (const ConvCase& c : edge_cases(GetParam())) {
    const ConvFixture f = make_fixture(c, seed++);
    const auto kernel = make_conv_kernel(Kernel::Avx512Vnni, f.layer);
    const std::vector<int32_t> expected = reference_conv(f);
    EXPECT_EQ(run_conv(*kernel, f, 1), expected) << describe(c);
    EXPECT_EQ(run_conv(*kernel, f, 7), expected) << describe(c) << " (work split in 7)";
  }
}

TEST_P(ConvAvx512Vnni, AtTheAccumulationBound) {
  for (const int sign : {1, -1}) {
    for (const int code_sign : {1, -1}) {
      const ConvFixture f = bound_fixture(GetParam(), sign, code_sign, sign < 0);
      EXPECT_EQ(run_conv(*make_conv_kernel(Kernel::Avx512Vnni, f.layer), f), reference_conv(f));
    }
  }
}

TEST_P(ConvAvx512Vnni, FusedActQuant) { expect_fused_act_quant(Kernel::Avx512Vnni, fused_cases(GetParam())); }

INSTANTIATE_TEST_SUITE_P(Codes, ConvAvx512Vnni, ::testing::Values(CodeType::U8, CodeType::S16),
                         [](const auto& info) { return info.param == CodeType::U8 ? "u8" : "s16"; });

TEST(ConvAvx512VnniShortcut, ComputedByTheConvolutionThatAddsIt) {
  if (!cpu_supports(IsaLevel::Avx512Vnni)) GTEST_SKIP() << "no AVX-512 VNNI";
  expect_computed_residual(Kernel::Avx512Vnni);
}

TEST(ConvAvx512VnniU8, NeedsInt8Weights) {
  if (!cpu_supports(IsaLevel::Avx512Vnni)) GTEST_SKIP() << "no AVX-512 VNNI";
  ConvCase c;
  c.weights = LevelSetSpec{Scheme::APoT, 8, 2, true};  // integers up to 904
  EXPECT_THROW(make_conv_kernel(Kernel::Avx512Vnni, make_fixture(c, 1).layer), std::invalid_argument);
  c.type = CodeType::S16;
  EXPECT_NO_THROW(make_conv_kernel(Kernel::Avx512Vnni, make_fixture(c, 1).layer));
}

}  // namespace
}  // namespace apot::deploy::test
