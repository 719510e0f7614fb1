// What every convolution kernel shares (deploy/kernels/conv/conv_kernel.h): the layer's shape, its checks,
// the accumulator ranges the requantisation relies on, and the int16 pair-sum bound of kernels that add
// uint8 pair sums in int16 (AVX2's vpmaddubsw).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/deploy/kernels/conv_cases.h"

namespace apot::deploy::test {
namespace {

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

TEST(ConvKernel, RefusesMismatchedLayers) {
  ConvFixture f = make_fixture(ConvCase{}, 1);
  f.layer.bias.pop_back();
  EXPECT_THROW(make_conv_kernel(Kernel::Scalar, f.layer), std::invalid_argument);
  EXPECT_THROW(make_conv_kernel(Kernel::Auto, make_fixture(ConvCase{}, 1).layer), std::invalid_argument);
}

// Where a pair sum of the layer's weights could saturate at the largest code, the uint8 kernel is
// refused (the engine then keeps int16 codes): 8-bit weights at 127, codes up to 129 pass, 130 not.
TEST(ConvKernel, Int16PairSumsRefuseCodesAndWeightsThatSaturate) {
  if (!cpu_supports(Isa::Avx2)) GTEST_SKIP() << "no AVX2";
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

TEST(ConvKernel, Int16SumsAreTheMostThatCannotOverflow) {
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

// The bounds the requantisation's unsaturated form relies on (deploy/kernels/requant/requant.h): uint8 codes are >= 0,
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
