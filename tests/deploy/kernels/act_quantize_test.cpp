// The activation quantiser (deploy/kernels/act_quantize/act_quantize.h): the reference against a literal count of the
// thresholds, and the AVX2 / AVX-512 kernels against the reference for every table size (2..256 levels:
// in-register lookups and gathers), thresholds at the int32 extremes, every threshold and its
// neighbours, channel tails and both code types.
#include "deploy/kernels/act_quantize/act_quantize.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <vector>

#include "deploy/kernels/layout.h"
#include "tests/deploy/kernels/every_isa.h"
#include "tests/deploy/kernels/row_ends_case.h"

namespace apot::deploy {
namespace {

constexpr int32_t kMin = std::numeric_limits<int32_t>::min(), kMax = std::numeric_limits<int32_t>::max();

struct Levels {
  std::vector<int32_t> thresholds;
  std::vector<int16_t> values;
};

// levels - 1 distinct ascending thresholds (optionally including the int32 extremes), ascending values
// from 0 (repeats allowed) up to max_value.
Levels random_levels(int levels, int16_t max_value, bool extremes, std::mt19937& rng) {
  std::set<int32_t> t;
  if (extremes) t.insert({kMin, kMax});
  while (static_cast<int>(t.size()) < levels - 1) t.insert(static_cast<int32_t>(rng()) >> (rng() % 20));
  Levels l;
  l.thresholds.assign(t.begin(), t.end());
  l.thresholds.resize(static_cast<size_t>(levels - 1));
  std::sort(l.thresholds.begin(), l.thresholds.end());
  l.values.push_back(0);
  for (int j = 1; j < levels; ++j)
    l.values.push_back(static_cast<int16_t>(std::min<int>(max_value, l.values.back() + rng() % 3)));
  l.values.back() = max_value;
  std::sort(l.values.begin(), l.values.end());
  return l;
}

int32_t literal_count(const Levels& l, int32_t x) {
  int count = 0;
  for (const int32_t t : l.thresholds) count += x >= t;
  return l.values[count];
}

// Inputs: every threshold, its neighbours, the extremes, random values.
std::vector<int32_t> probes(const Levels& l, std::mt19937& rng) {
  std::vector<int32_t> x = {kMin, kMin + 1, -1, 0, 1, kMax - 1, kMax};
  for (const int32_t t : l.thresholds) {
    x.push_back(t);
    if (t > kMin) x.push_back(t - 1);
    if (t < kMax) x.push_back(t + 1);
  }
  for (int i = 0; i < 300; ++i) x.push_back(static_cast<int32_t>(rng()) >> (rng() % 24));
  return x;
}

TEST(ActQuantize, ReferenceCountsTheThresholds) {
  std::mt19937 rng(1);
  for (int levels = 2; levels <= 256; levels = levels < 20 ? levels + 1 : levels * 2 - 7) {
    for (const bool extremes : {false, true}) {
      if (extremes && levels < 3) continue;
      const Levels l = random_levels(levels, 255, extremes, rng);
      const ActQuantTable table(l.thresholds.data(), l.values.data(), levels);
      for (const int32_t x : probes(l, rng))
        ASSERT_EQ(act_quantize_one(table, x), literal_count(l, x)) << levels << " " << x;
    }
  }
}

TEST(ActQuantize, FourBitApotLevels) {
  // The 16 integers of 4-bit unsigned APoT, k = 2 (core/levels: 0 .. 48), thresholds between them.
  const std::vector<int16_t> values = {0, 1, 2, 3, 4, 6, 8, 9, 12, 16, 18, 24, 32, 33, 36, 48};
  std::vector<int32_t> thresholds;
  for (size_t j = 0; j + 1 < values.size(); ++j) thresholds.push_back((values[j] + values[j + 1]) * 100);
  const ActQuantTable table(thresholds.data(), values.data(), 16);
  EXPECT_EQ(table.steps, 4);
  EXPECT_EQ(act_quantize_one(table, kMin), 0);
  EXPECT_EQ(act_quantize_one(table, 99), 0);
  EXPECT_EQ(act_quantize_one(table, 100), 1);    // at the threshold: the upper level
  EXPECT_EQ(act_quantize_one(table, 4199), 18);  // below (18 + 24) x 100
  EXPECT_EQ(act_quantize_one(table, 4200), 24);
  EXPECT_EQ(act_quantize_one(table, 8399), 36);
  EXPECT_EQ(act_quantize_one(table, 8400), 48);
  EXPECT_EQ(act_quantize_one(table, kMax), 48);
}

TEST(ActQuantize, RefusesBadTables) {
  const std::vector<int32_t> t = {5, 5};
  const std::vector<int16_t> v = {0, 1, 2};
  EXPECT_THROW(ActQuantTable(t.data(), v.data(), 3), std::invalid_argument);
  const std::vector<int32_t> t2 = {1, 5};
  const std::vector<int16_t> down = {0, 2, 1};
  EXPECT_THROW(ActQuantTable(t2.data(), down.data(), 3), std::invalid_argument);
  EXPECT_THROW(ActQuantTable(t2.data(), v.data(), 1), std::invalid_argument);
}

template <class T>
std::vector<T> run(Isa isa, const ActQuantTable& table, const std::vector<int32_t>& in, int64_t pixels,
                   int channels, int64_t in_stride, int64_t out_stride) {
  std::vector<T> out(static_cast<size_t>(pixels * out_stride), T{99});
  ActQuantRows r;
  r.in = in.data();
  r.in_stride = in_stride;
  r.out = out.data();
  r.out_stride = out_stride;
  r.type = sizeof(T) == 1 ? CodeType::U8 : CodeType::S16;
  r.pixels = pixels;
  r.channels = channels;
  isa_kernels(isa).act_quantize(table, r);
  return out;
}

// act_quantize_one on every value, the channels beyond `channels` left as run() leaves them.
template <class T>
std::vector<T> reference(const ActQuantTable& table, const std::vector<int32_t>& in, int64_t pixels, int channels,
                         int64_t in_stride, int64_t out_stride) {
  std::vector<T> out(static_cast<size_t>(pixels * out_stride), T{99});
  for (int64_t p = 0; p < pixels; ++p) {
    for (int c = 0; c < channels; ++c) {
      out[static_cast<size_t>(p * out_stride + c)] = static_cast<T>(act_quantize_one(table, in[static_cast<size_t>(p * in_stride + c)]));
    }
  }
  return out;
}

using ActQuantizeKernel = test::EveryIsa;

TEST_P(ActQuantizeKernel, MatchesTheReference) {
  const Isa isa = GetParam();
  std::mt19937 rng(2);
  for (const int levels : {2, 3, 4, 5, 8, 9, 15, 16, 17, 31, 32, 33, 64, 100, 255, 256}) {
    for (const bool wide : {false, true}) {  // uint8 or int16 codes
      const Levels l = random_levels(levels, wide ? 3840 : 255, levels > 2 && rng() % 2, rng);
      const ActQuantTable table(l.thresholds.data(), l.values.data(), levels);
      for (const int channels : {1, 7, 8, 9, 15, 16, 17, 33, 64}) {
        const std::vector<int32_t> x = probes(l, rng);
        const int64_t in_stride = channels + 3, out_stride = channels + 5;
        const int64_t pixels = static_cast<int64_t>(x.size()) / channels + 1;
        std::vector<int32_t> in(static_cast<size_t>(pixels * in_stride));
        for (size_t i = 0; i < in.size(); ++i) in[i] = x[i % x.size()];
        if (wide) {
          ASSERT_EQ((run<int16_t>(isa, table, in, pixels, channels, in_stride, out_stride)),
                    (reference<int16_t>(table, in, pixels, channels, in_stride, out_stride)))
              << levels << " levels, " << channels << " channels";
        } else {
          ASSERT_EQ((run<uint8_t>(isa, table, in, pixels, channels, in_stride, out_stride)),
                    (reference<uint8_t>(table, in, pixels, channels, in_stride, out_stride)))
              << levels << " levels, " << channels << " channels";
        }
      }
    }
  }
}

APOT_INSTANTIATE_EVERY_ISA(ActQuantizeKernel);

// One call over the row ends of bordered codes rows (ActQuantRows::row_ends) against a call per row
// piece without them, every ISA the CPU has, both code types, the small and the wide tables; the
// borders keep what they held.
TEST(ActQuantize, RunsOverRowEnds) {
  std::mt19937 rng(6);
  const int channels = 24, pixels = 13;
  for (const int levels : {16, 100}) {
    const Levels l = random_levels(levels, 255, false, rng);
    const ActQuantTable table(l.thresholds.data(), l.values.data(), levels);
    const std::vector<int32_t> x = probes(l, rng);
    std::vector<int32_t> in(static_cast<size_t>(pixels * channels));
    for (size_t i = 0; i < in.size(); ++i) in[i] = x[i * 7 % x.size()];
    ActQuantRows r;
    r.in = in.data();
    r.in_stride = channels;
    r.channels = channels;
    const auto move_in = [&](ActQuantRows& rows, int n) { rows.in += n * channels; };
    for (const CodeType type : {CodeType::U8, CodeType::S16}) {
      const test::RowEndsCase run{CodesLayout::make(type, channels, 4, 5, 1), 2, pixels};
      const std::vector<uint8_t> expected = test::quantised(run, r, false, move_in, [&](const ActQuantRows& rows) {
        act_quantize_scalar(table, rows);
      });
      for (const Isa isa : supported_isas()) {
        const auto kernel = [&](const ActQuantRows& rows) { isa_kernels(isa).act_quantize(table, rows); };
        EXPECT_EQ(test::quantised(run, r, true, move_in, kernel), expected)
            << to_string(isa) << ", " << levels << " levels, " << (type == CodeType::U8 ? "uint8" : "int16") << " codes";
      }
    }
  }
}

}  // namespace
}  // namespace apot::deploy
