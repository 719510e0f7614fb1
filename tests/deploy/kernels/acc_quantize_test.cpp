// Requantisation + activation quantisation on the accumulators (deploy/kernels/acc_quantize/acc_quantize.h): the moved
// thresholds against the two steps they replace (deploy/kernels/requant/requant.h, deploy/kernels/act_quantize/act_quantize.h) at every
// boundary, its neighbours and the int32 extremes, for positive, negative and zero multipliers, small
// and large shifts, saturating biases and ReLU; the AVX2 and AVX-512 kernels against the reference.
#include "deploy/kernels/acc_quantize/acc_quantize.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <vector>

#include "deploy/kernels/layout.h"
#include "deploy/kernels/requant/requant.h"
#include "tests/deploy/kernels/every_isa.h"
#include "tests/deploy/kernels/row_ends_case.h"

namespace apot::deploy {
namespace {

constexpr int32_t kMin = std::numeric_limits<int32_t>::min(), kMax = std::numeric_limits<int32_t>::max();

struct Layer {
  std::vector<int32_t> multiplier, bias;
  std::vector<uint8_t> shift;
  std::vector<int32_t> thresholds;
  std::vector<int16_t> values;
};

Layer random_setup(int channels, int levels, std::mt19937& rng) {
  Layer s;
  for (int c = 0; c < channels; ++c) {
    switch (c % 6) {
      case 0:
        s.multiplier.push_back(0);
        break;
      case 1:
        s.multiplier.push_back(-static_cast<int32_t>(rng() % (1u << 30)) - 1);
        break;
      case 2:
        s.multiplier.push_back(c % 12 == 2 ? kMax : kMin);
        break;
      default:
        s.multiplier.push_back(static_cast<int32_t>(rng() % (1u << 30)) + 1);
    }
    s.shift.push_back(static_cast<uint8_t>(c % 7 == 0 ? 0 : c % 7 == 1 ? 62 : 20 + rng() % 20));
    s.bias.push_back(c % 9 == 0 ? kMax : c % 9 == 1 ? kMin : static_cast<int32_t>(rng()) >> (rng() % 16 + 8));
  }
  std::set<int32_t> t;
  while (static_cast<int>(t.size()) < levels - 1) t.insert(static_cast<int32_t>(rng() % (1u << 22)) - (1 << 20));
  s.thresholds.assign(t.begin(), t.end());
  for (int j = 0; j < levels; ++j) s.values.push_back(static_cast<int16_t>(j * 3));
  return s;
}

TEST(AccQuantize, EqualsRequantThenActQuantize) {
  std::mt19937 rng(1);
  for (const int levels : {2, 3, 4, 7, 8, 9, 15, 16}) {
    for (const bool relu : {false, true}) {
      const int channels = 36;
      const Layer s = random_setup(channels, levels, rng);
      const ActQuantTable act(s.thresholds.data(), s.values.data(), levels);
      const AccQuantTable table(s.multiplier.data(), s.shift.data(), s.bias.data(), relu, channels, 48, act);
      for (int c = 0; c < channels; ++c) {
        std::vector<int32_t> probes = {kMin + 1, kMin + 2, -1, 0, 1, kMax - 1, kMax};
        for (int j = 0; j < (1 << act.steps) - 1; ++j) {
          const int32_t b = table.thresholds(c / 16 * 16)[j * 16 + c % 16];
          for (const int64_t d : {-1, 0, 1}) {
            const int64_t a = int64_t{b} + d;
            if (a > kMin && a <= kMax) probes.push_back(static_cast<int32_t>(a) * table.signs(c)[0]);
          }
        }
        for (int i = 0; i < 200; ++i) probes.push_back(static_cast<int32_t>(rng()) >> (rng() % 31));
        for (const int32_t acc : probes) {
          if (acc == kMin) continue;  // excluded by the accumulation bound
          const int32_t y = requant_output(acc, s.multiplier[c], s.shift[c], s.bias[c], nullptr, relu);
          ASSERT_EQ(acc_quantize_one(table, c, acc), act_quantize_one(act, y))
              << "levels " << levels << " channel " << c << " acc " << acc << " m " << s.multiplier[c] << " s "
              << int{s.shift[c]} << " b " << s.bias[c] << " relu " << relu;
        }
      }
    }
  }
}

TEST(AccQuantize, SupportsUpTo16Levels) {
  std::vector<int32_t> t(31);
  for (int j = 0; j < 31; ++j) t[j] = j;
  std::vector<int16_t> v(32);
  for (int j = 0; j < 32; ++j) v[j] = static_cast<int16_t>(j);
  const ActQuantTable act16(t.data(), v.data(), 16), act17(t.data(), v.data(), 17);
  EXPECT_TRUE(AccQuantTable::supports(act16));
  EXPECT_FALSE(AccQuantTable::supports(act17));
  const int32_t m = 1, b = 0;
  const uint8_t s = 0;
  EXPECT_THROW(AccQuantTable(&m, &s, &b, false, 1, 16, act17), std::invalid_argument);
}

using AccQuantizeKernel = test::EveryIsa;

// acc_quantize_one on every accumulator of r (no row ends).
void reference_rows(const AccQuantTable& table, const AccQuantRows& r) {
  for (int64_t p = 0; p < r.pixels; ++p) {
    for (int c = 0; c < r.channels; ++c) {
      const int32_t code = acc_quantize_one(table, r.channel + c, r.acc[p * r.acc_stride + c]);
      const int64_t at = p * r.out_stride + c;
      if (r.type == CodeType::U8) {
        static_cast<uint8_t*>(r.out)[at] = static_cast<uint8_t>(code);
      } else {
        static_cast<int16_t*>(r.out)[at] = static_cast<int16_t>(code);
      }
    }
  }
}

// A kernel's codes against the reference's for `pixels` rows of accumulators (row stride acc_stride),
// both code types, into rows wider than the channels (what lies beyond must stay).
void expect_kernel_matches(Isa isa, const AccQuantTable& table, int channels, const std::vector<int32_t>& acc,
                           int64_t acc_stride) {
  const auto kernel = isa_kernels(isa).acc_quantize;
  const int64_t pixels = static_cast<int64_t>(acc.size()) / acc_stride, out_stride = channels + 3;
  for (const CodeType type : {CodeType::U8, CodeType::S16}) {
    const size_t bytes = static_cast<size_t>(pixels * out_stride) * (type == CodeType::U8 ? 1 : 2);
    std::vector<uint8_t> expected(bytes, 0xAB), got(bytes, 0xAB);
    AccQuantRows r;
    r.acc = acc.data();
    r.acc_stride = acc_stride;
    r.out_stride = out_stride;
    r.type = type;
    r.pixels = pixels;
    r.channel = 0;
    r.channels = channels;
    r.out = expected.data();
    reference_rows(table, r);
    r.out = got.data();
    kernel(table, r);
    ASSERT_EQ(got, expected) << channels << " channels, " << (type == CodeType::U8 ? "uint8" : "int16");
  }
}

TEST_P(AccQuantizeKernel, MatchesReference) {
  std::mt19937 rng(2);
  for (const int levels : {2, 3, 5, 8, 9, 16}) {
    for (const int channels : {1, 15, 16, 17, 40, 64}) {
      const Layer s = random_setup(channels, levels, rng);
      const ActQuantTable act(s.thresholds.data(), s.values.data(), levels);
      const int padded = (channels + 15) / 16 * 16;
      const AccQuantTable table(s.multiplier.data(), s.shift.data(), s.bias.data(), levels % 2 == 0, channels, padded,
                                act);
      const int64_t pixels = 37, acc_stride = padded + 16;
      std::vector<int32_t> acc(static_cast<size_t>(pixels * acc_stride));
      for (int32_t& a : acc)
        a = rng() % 8 == 0 ? (rng() % 2 ? kMax : kMin + 1) : static_cast<int32_t>(rng()) >> (rng() % 31);
      SCOPED_TRACE(::testing::Message() << levels << " levels");
      expect_kernel_matches(GetParam(), table, channels, acc, acc_stride);
    }
  }
}

// Rows of the values in `accs`, each row's channels a rotation of them.
std::vector<int32_t> rows_of(const std::vector<int32_t>& accs, int channels, int64_t acc_stride) {
  const int64_t pixels = static_cast<int64_t>(accs.size());
  std::vector<int32_t> acc(static_cast<size_t>(pixels * acc_stride));
  for (int64_t p = 0; p < pixels; ++p) {
    for (int c = 0; c < channels; ++c) acc[p * acc_stride + c] = accs[(p + c) % pixels];
  }
  return acc;
}

// Every threshold of every channel, its neighbours, and the int32 extremes.
std::vector<int32_t> probes(const AccQuantTable& table, int channels, int levels) {
  std::vector<int32_t> accs = {kMax, kMin + 1, 0, 1, -1};
  for (int c = 0; c < channels; ++c) {
    for (int j = 0; j < levels - 1; ++j) {
      const int64_t b = table.thresholds(c / 16 * 16)[j * 16 + c % 16];
      for (const int64_t d : {-2, -1, 0, 1, 2}) {
        const int64_t a = table.signs(c)[0] * (b + d);
        if (a > kMin && a <= kMax) accs.push_back(static_cast<int32_t>(a));
      }
    }
  }
  return accs;
}

// A layer whose accumulator steps are small against the activation thresholds (as trained ones are):
// every 16-channel group's thresholds fit int16.
Layer int16_setup(int channels, int levels, std::mt19937& rng) {
  Layer s;
  for (int c = 0; c < channels; ++c) {
    const int32_t m = static_cast<int32_t>(rng() % (1u << 29)) + (1 << 29);
    s.multiplier.push_back(c % 3 == 1 ? -m : m);
    s.shift.push_back(static_cast<uint8_t>(30 + rng() % 3));
    s.bias.push_back(static_cast<int32_t>(rng() % 2001) - 1000);
  }
  std::set<int32_t> t;
  while (static_cast<int>(t.size()) < levels - 1) t.insert(static_cast<int32_t>(rng() % 2000));
  s.thresholds.assign(t.begin(), t.end());
  for (int j = 0; j < levels; ++j) s.values.push_back(static_cast<int16_t>(j * 17));
  return s;
}

// The kernels count in int16 on every 16-channel group of such layers.
TEST_P(AccQuantizeKernel, Int16CountsMatchReference) {
  std::mt19937 rng(4);
  for (const int levels : {2, 5, 9, 16}) {
    for (const int channels : {16, 40, 48}) {
      const Layer s = int16_setup(channels, levels, rng);
      const ActQuantTable act(s.thresholds.data(), s.values.data(), levels);
      const int padded = (channels + 15) / 16 * 16;
      const AccQuantTable table(s.multiplier.data(), s.shift.data(), s.bias.data(), levels % 2 == 1, channels,
                                padded, act);
      for (int c = 0; c < padded; c += 16) ASSERT_TRUE(table.int16(c)) << "channel " << c;
      std::vector<int32_t> accs = probes(table, channels, levels);
      for (int i = 0; i < 200; ++i) accs.push_back(static_cast<int32_t>(rng()) >> (rng() % 31));
      SCOPED_TRACE(::testing::Message() << levels << " levels");
      expect_kernel_matches(GetParam(), table, channels, rows_of(accs, channels, padded), padded);
    }
  }
}

// acc = +- stream (multiplier +- 2^30, shift 30, no bias): a positive channel's thresholds are the
// activation thresholds t less one, a negative one's compare with -t after the reflection
// (AccQuantTable::int16), so both fit int16 for t in [-32766, 32767].
TEST_P(AccQuantizeKernel, Int16OnlyWhereTheThresholdsFit) {
  const int channels = 24;
  std::vector<int32_t> multiplier;
  for (int c = 0; c < channels; ++c) multiplier.push_back(c % 3 == 1 ? -(1 << 30) : 1 << 30);
  const std::vector<int32_t> bias(channels, 0);
  const std::vector<uint8_t> shift(channels, 30);
  const std::vector<int16_t> values = {0, 5, 200};
  const struct {
    int32_t low, high;
    bool fits;
  } cases[] = {{-32766, 32767, true}, {-32767, 0, false}, {0, 32768, false}, {-5, 7, true}};
  for (const auto& k : cases) {
    const int32_t thresholds[2] = {k.low, k.high};
    const ActQuantTable act(thresholds, values.data(), 3);
    const AccQuantTable table(multiplier.data(), shift.data(), bias.data(), false, channels, 32, act);
    SCOPED_TRACE(::testing::Message() << "thresholds " << k.low << ", " << k.high);
    EXPECT_EQ(table.int16(0), k.fits);
    EXPECT_EQ(table.int16(16), k.fits);
    expect_kernel_matches(GetParam(), table, channels, rows_of(probes(table, channels, 3), channels, 32), 32);
  }
}

// One call over the row ends of bordered codes rows (AccQuantRows::row_ends)
// against a call per row piece without them: the reference's and the kernel's, int16 and int32
// groups, uint8 and int16 codes; the borders keep what they held.
TEST_P(AccQuantizeKernel, RunsOverRowEnds) {
  const auto acc_quantize = kernels().acc_quantize;
  std::mt19937 rng(5);
  const int channels = 40, padded = 48, levels = 16, pixels = 13;
  for (const bool int16 : {true, false}) {
    const Layer s = int16 ? int16_setup(channels, levels, rng) : random_setup(channels, levels, rng);
    const ActQuantTable act(s.thresholds.data(), s.values.data(), levels);
    const AccQuantTable table(s.multiplier.data(), s.shift.data(), s.bias.data(), true, channels, padded, act);
    EXPECT_EQ(table.int16(0), int16);
    std::vector<int32_t> acc(static_cast<size_t>(pixels * padded));
    for (int32_t& a : acc) a = static_cast<int32_t>(rng()) >> (rng() % 31);
    AccQuantRows r;
    r.acc = acc.data();
    r.acc_stride = padded;
    r.channels = channels;
    const auto move_in = [&](AccQuantRows& rows, int n) { rows.acc += n * padded; };
    const auto scalar = [&](const AccQuantRows& rows) { acc_quantize_scalar(table, rows); };
    for (const CodeType type : {CodeType::U8, CodeType::S16}) {
      const test::RowEndsCase run{CodesLayout::make(type, channels, 4, 5, 2), 3, pixels};
      const std::vector<uint8_t> expected = test::quantised(run, r, false, move_in, scalar);
      SCOPED_TRACE(::testing::Message() << (int16 ? "int16" : "int32") << " groups, "
                                        << (type == CodeType::U8 ? "uint8" : "int16") << " codes");
      const auto kernel = [&](const AccQuantRows& rows) { acc_quantize(table, rows); };
      EXPECT_EQ(test::quantised(run, r, true, move_in, kernel), expected);
    }
  }
}

APOT_INSTANTIATE_EVERY_ISA(AccQuantizeKernel);

}  // namespace
}  // namespace apot::deploy
