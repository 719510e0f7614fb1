// The AVX2 convolution (deploy/conv_avx2.cpp through deploy/conv_blocked.cpp) against the independent
// reference, bit for bit, on shapes at and around its 12- and 6-pixel tiles and 8- and 16-channel blocks.
#include <gtest/gtest.h>

#include "tests/deploy/conv_cases.h"

namespace apot::deploy::test {
namespace {

class ConvAvx2 : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cpu_supports(IsaLevel::Avx2)) GTEST_SKIP() << "no AVX2";
  }
};

TEST_F(ConvAvx2, MatchesTheReferenceOnEdgeShapes) {
  uint32_t seed = 21;
  for (const ConvCase& c : edge_cases(CodeType::S16)) {
    const ConvFixture f = make_fixture(c, seed++);
    const auto kernel = make_conv_kernel(Kernel::Avx2, f.layer);
    const std::vector<int32_t> expected = reference_conv(f);
    EXPECT_EQ(run_conv(*kernel, f, 1), expected) << describe(c);
    EXPECT_EQ(run_conv(*kernel, f, 7), expected) << describe(c) << " (work split in 7)";
  }
}

TEST_F(ConvAvx2, AtTheAccumulationBound) {
  for (const int sign : {1, -1}) {
    for (const int code_sign : {1, -1}) {
      const ConvFixture f = bound_fixture(CodeType::S16, sign, code_sign, sign > 0);
      EXPECT_EQ(run_conv(*make_conv_kernel(Kernel::Avx2, f.layer), f), reference_conv(f));
    }
  }
}

TEST_F(ConvAvx2, ReadsInt16CodesOnly) {
  EXPECT_THROW(make_conv_kernel(Kernel::Avx2, make_fixture(ConvCase{}, 1).layer), std::invalid_argument);
}

TEST_F(ConvAvx2, FusedActQuant) { expect_fused_act_quant(Kernel::Avx2, fused_cases(CodeType::S16)); }

}  // namespace
}  // namespace apot::deploy::test
