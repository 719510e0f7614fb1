// The portable convolution (deploy/conv_scalar.cpp) against the independent reference, and the frame it
// shares with the shift-add kernel (deploy/conv_rows.cpp): any split of the work gives the same bits.
#include <gtest/gtest.h>

#include "tests/deploy/conv_cases.h"

namespace apot::deploy::test {
namespace {

TEST(ConvScalar, MatchesTheReferenceOnEdgeShapes) {
  for (const CodeType type : {CodeType::U8, CodeType::S16}) {
    uint32_t seed = 11;
    for (const ConvCase& c : edge_cases(type)) {
      const ConvFixture f = make_fixture(c, seed++);
      const auto kernel = make_conv_kernel(Kernel::Scalar, f.layer);
      const std::vector<int32_t> expected = reference_conv(f);
      EXPECT_EQ(run_conv(*kernel, f, 1), expected) << describe(c);
      EXPECT_EQ(run_conv(*kernel, f, 5), expected) << describe(c) << " (work split in 5)";
    }
  }
}

TEST(ConvScalar, AtTheAccumulationBound) {
  for (const CodeType type : {CodeType::U8, CodeType::S16}) {
    for (const int sign : {1, -1}) {
      const ConvFixture f = bound_fixture(type, sign, sign, sign > 0);
      EXPECT_EQ(run_conv(*make_conv_kernel(Kernel::Scalar, f.layer), f), reference_conv(f));
    }
  }
}

TEST(ConvScalar, RefusesMismatchedLayers) {
  ConvFixture f = make_fixture(ConvCase{}, 1);
  f.layer.bias.pop_back();
  EXPECT_THROW(make_conv_kernel(Kernel::Scalar, f.layer), std::invalid_argument);
  EXPECT_THROW(make_conv_kernel(Kernel::Auto, make_fixture(ConvCase{}, 1).layer), std::invalid_argument);
}

TEST(ConvShape, PaddingMustFitTheStoredBorder) {
  const CodesLayout in = CodesLayout::make(CodeType::U8, 4, 8, 8, /*border=*/1);
  EXPECT_NO_THROW(ConvShape::make(in, 16, 3, 1, 1));
  EXPECT_THROW(ConvShape::make(in, 16, 7, 1, 3), std::invalid_argument);
  const ConvShape s = ConvShape::make(in, 20, 3, 2, 1);
  EXPECT_EQ(s.out.height, 4);
  EXPECT_EQ(s.out.width, 4);
  EXPECT_EQ(s.out.stride, 32);
  EXPECT_EQ(s.in.stride, 4);
}

TEST(ConvScalar, FusedActQuant) {
  expect_fused_act_quant(Kernel::Scalar, fused_cases(CodeType::U8));
  expect_fused_act_quant(Kernel::Scalar, fused_cases(CodeType::S16));
}

}  // namespace
}  // namespace apot::deploy::test
