#include "core/codec.h"

#include <cmath>
#include <set>

#include <gtest/gtest.h>

#include "core/lloyd.h"
#include "tests/core/all_sets.h"

namespace apot {
namespace {

TEST(Codec, RoundTripsAreExactForEverySet) {
  for (const LevelSet& set : test::all_sets()) {
    SCOPED_TRACE(set.describe());
    std::set<uint32_t> codes;
    for (const Level& l : set.levels()) {
      EXPECT_LT(l.code, 1u << set.bits());
      EXPECT_TRUE(codes.insert(l.code).second) << "duplicate code " << l.code;
      EXPECT_EQ(encode(set, l.value), l.code);
      EXPECT_EQ(decode(set, l.code).value, l.value);
      const uint32_t magnitude_code = l.code & ((1u << set.magnitude_bits()) - 1);
      EXPECT_EQ(exponents_of_code(set.terms(), magnitude_code), l.exponents);
      if (set.has_integer_form()) {
        EXPECT_EQ(to_integer(set, l.value), l.integer);
        EXPECT_EQ(from_integer(set, l.integer), l.value);
      }
    }
  }
}

// With k = 1 every bit is one term, term 0 highest: the code is the fixed-point integer itself.
TEST(Codec, UniformCodeIsTheFixedPointInteger) {
  for (int bits = 2; bits <= 8; ++bits) {
    const LevelSet set = LevelSet::uniform(bits, false);
    for (size_t j = 0; j < set.levels().size(); ++j) {
      EXPECT_EQ(set.levels()[j].code, j);
      EXPECT_EQ(set.levels()[j].integer, static_cast<int64_t>(j));
    }
  }
}

TEST(Codec, SignBitIsTheTopBit) {
  const LevelSet set = LevelSet::apot(4, 2, true);
  for (const Level& l : set.levels()) {
    EXPECT_EQ((l.code >> 3) & 1u, l.value < 0 ? 1u : 0u);
    EXPECT_EQ(decode(set, l.code & 7u).value, std::fabs(l.value));
  }
  EXPECT_EQ(encode(set, 0.0), 0u);
}

TEST(Codec, InvalidInputsAreErrors) {
  const LevelSet set = LevelSet::apot(4, 2, true);
  EXPECT_THROW(decode(set, 8u), std::out_of_range);   // negative zero
  EXPECT_THROW(decode(set, 16u), std::out_of_range);  // wider than 4 bits
  EXPECT_THROW(encode(set, 0.25), std::invalid_argument);
  EXPECT_THROW(from_integer(set, 7), std::invalid_argument);
  EXPECT_THROW(exponents_of_code(set.terms(), 8u), std::out_of_range);
  const float data[] = {0.1f, 0.2f, 0.7f, 1.0f};
  const LevelSet lloyd = LevelSet::lloyd(lloyd_max_magnitudes(data, 4, 1, true, 1.0), 2, true);
  EXPECT_THROW(to_integer(lloyd, lloyd.levels()[0].value), std::logic_error);
  EXPECT_EQ(decode(lloyd, 3u).value, -lloyd.levels()[2].value);
}

}  // namespace
}  // namespace apot
