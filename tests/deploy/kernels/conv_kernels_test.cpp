// Every convolution kernel family (deploy/kernels/kernel.h: shift-add, scalar, and the blocked SIMD one of
// each instruction set in the kernel table) on both code types, against the independent NCHW reference,
// bit for bit: shapes at and around every tiling's tiles and channel blocks, the accumulation bound, the
// fused activation quantisers and (blocked kernels) the shortcut computed by the convolution that adds it.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "deploy/kernels/kernel_table.h"
#include "tests/deploy/kernels/conv_cases.h"
#include "tests/deploy/kernels/every_isa.h"

namespace apot::deploy::test {
namespace {

class ConvKernels : public ::testing::TestWithParam<std::tuple<Kernel, CodeType>> {
 protected:
  void SetUp() override {
    if (!cpu_supports(isa_of(kernel()))) GTEST_SKIP() << "this CPU lacks " << to_string(isa_of(kernel()));
  }
  Kernel kernel() const { return std::get<0>(GetParam()); }
  CodeType type() const { return std::get<1>(GetParam()); }
  // The blocked SIMD convolution of the family on this code type, or null (shift-add, scalar).
  const BlockedConvIsa* blocked() const {
    if (kernel() == Kernel::ShiftAdd) return nullptr;
    const IsaKernels& row = isa_kernels(isa_of(kernel()));
    return type() == CodeType::U8 ? row.conv_u8 : row.conv_s16;
  }
  bool int16_pair_sums() const { return blocked() != nullptr && blocked()->int16_pair_sums; }
};

// The largest uint8 code with which the case's largest weights keep int16 pair sums exact, or with
// which int16 adds `sums` of them exactly.
int32_t exact_u8_code(const ConvCase& c, int sums = 1) {
  const int32_t max_weight = static_cast<int32_t>(c.weights.make().levels().back().integer);
  return std::min<int32_t>(255, 32767 / (2 * max_weight * sums));
}

// Kernels that add uint8 pair sums in int16 run with codes up to the largest value for which int16 adds
// even the largest pair sums once and three times (within 255), and up to 4-bit activations' 48: they
// widen after every few groups or once per tile (avx2_u8_int16_sums, from the layer's weights), within a
// tap's channels or across taps.
TEST_P(ConvKernels, MatchesTheReferenceOnEdgeShapes) {
  uint32_t seed = 21;
  for (const ConvCase& c : edge_cases(type())) {
    std::vector<int32_t> codes = {0};  // the fixture's largest
    if (int16_pair_sums()) {
      codes = {exact_u8_code(c), exact_u8_code(c, 3), std::min(48, exact_u8_code(c))};
      codes.erase(std::unique(codes.begin(), codes.end()), codes.end());
    }
    for (const int32_t code : codes) {
      const ConvFixture f = make_fixture(c, seed++, code);
      const auto conv = make_conv_kernel(kernel(), f.layer);
      const std::vector<int32_t> expected = reference_conv(f);
      EXPECT_EQ(run_conv(*conv, f, 1), expected) << describe(c) << ", codes up to " << f.max_code;
      EXPECT_EQ(run_conv(*conv, f, 7), expected) << describe(c) << ", codes up to " << f.max_code
                                                  << " (work split in 7)";
    }
  }
}

// Every code and weight at its extreme (bound_fixture) over reductions of thousands of groups. Pair sums
// in int16: 8-bit weights at +-127 and codes at 129 (pair sums 2 x 129 x 127 = 32766, widened every
// group), 64 (2 sums, 32512) and 43 (3 sums, 32766): the int16 sums reach the bound before each widening.
TEST_P(ConvKernels, AtTheAccumulationBound) {
  std::vector<int32_t> codes = {255};  // int16 codes: ignored
  if (int16_pair_sums()) codes = {129, 64, 43};
  // Row kernels add plain int32 products: both extremes of the sum suffice. The blocked ones also mix
  // the signs of codes and weights within their lanes.
  std::vector<std::pair<int, int>> signs = {{1, 1}, {-1, -1}};  // weights, codes
  if (blocked() != nullptr) signs = {{1, 1}, {1, -1}, {-1, 1}, {-1, -1}};
  for (const int32_t code : codes) {
    for (const auto& [sign, code_sign] : signs) {
      const ConvFixture f = bound_fixture(type(), sign, code_sign, sign > 0, code);
      EXPECT_EQ(run_conv(*make_conv_kernel(kernel(), f.layer), f), reference_conv(f))
          << "codes " << code << ", weights " << 127 * sign << ", code sign " << code_sign;
    }
  }
}

TEST_P(ConvKernels, FusedActQuant) { expect_fused_act_quant(kernel(), fused_cases(type())); }

// The blocked kernels take uint8 codes with int8 weights only (u8 x s8 products); int16 codes take any.
TEST_P(ConvKernels, BlockedUint8CodesNeedInt8Weights) {
  if (blocked() == nullptr) GTEST_SKIP() << to_string(kernel()) << " convolves by rows";
  ConvCase c;
  c.type = type();
  c.weights = LevelSetSpec{Scheme::APoT, 8, 2, true};  // integers up to 904
  if (type() == CodeType::U8) {
    EXPECT_THROW(make_conv_kernel(kernel(), make_fixture(c, 1).layer), std::invalid_argument);
  } else {
    EXPECT_NO_THROW(make_conv_kernel(kernel(), make_fixture(c, 1).layer));
  }
}

INSTANTIATE_TEST_SUITE_P(Kernels, ConvKernels,
                         ::testing::Combine(::testing::ValuesIn(kKernels),
                                            ::testing::Values(CodeType::U8, CodeType::S16)),
                         [](const auto& info) {
                           return test_name(to_string(std::get<0>(info.param))) +
                                  (std::get<1>(info.param) == CodeType::U8 ? "_u8" : "_s16");
                         });

using ConvShortcut = EveryIsa;

TEST_P(ConvShortcut, ComputedByTheConvolutionThatAddsIt) {
  if (kernels().conv_u8 == nullptr) GTEST_SKIP() << to_string(GetParam()) << " convolves by rows";
  expect_computed_residual(kernel_for(GetParam()));
}

APOT_INSTANTIATE_EVERY_ISA(ConvShortcut);

}  // namespace
}  // namespace apot::deploy::test
