#include "core/levels.h"

#include <cmath>
#include <set>

#include <gtest/gtest.h>

#include "tests/core/all_sets.h"

namespace apot {
namespace {

std::vector<double> normalised_sums(const std::vector<std::vector<double>>& terms) {
  std::vector<double> sums = {0.0};
  for (const auto& term : terms) {
    std::vector<double> next;
    for (double s : sums) {
      for (double p : term) next.push_back(s + p);
    }
    sums = next;
  }
  std::set<double> unique(sums.begin(), sums.end());
  std::vector<double> out(unique.begin(), unique.end());
  const double top = out.back();
  for (double& v : out) v /= top;
  return out;
}

// Section 2.2, the worked example: b = 4, k = 2.
TEST(Levels, PaperExampleFourBitsBaseTwo) {
  const LevelSet set = LevelSet::apot(4, 2, /*is_signed=*/false);
  ASSERT_EQ(set.levels().size(), 16u);
  EXPECT_DOUBLE_EQ(set.gamma(), 2.0 / 3.0);
  EXPECT_EQ(set.terms()[0].exponents, (std::vector<int>{0, 2, 4}));  // p0 in {0, 2^0, 2^-2, 2^-4}
  EXPECT_EQ(set.terms()[1].exponents, (std::vector<int>{1, 3, 5}));  // p1 in {0, 2^-1, 2^-3, 2^-5}
  EXPECT_DOUBLE_EQ(set.levels()[1].value, std::ldexp(1.0, -4) / 3);
  int between = 0;
  for (const Level& l : set.levels()) between += (l.value > 0.5 && l.value < 1.0);
  EXPECT_EQ(between, 3);
  EXPECT_EQ(set.values(), normalised_sums({{0, 1, 0.25, 0.0625}, {0, 0.5, 0.125, 0.03125}}));
}

// After Eq. 6: 3 bits, p0 in {0, 2^-1, 2^-2, 2^-4} plus p~ in {0, 2^-3}.
TEST(Levels, PaperExampleThreeBits) {
  const LevelSet set = LevelSet::apot(3, 2, /*is_signed=*/false);
  EXPECT_EQ(set.values(), normalised_sums({{0, 0.5, 0.25, 0.0625}, {0, 0.125}}));
  EXPECT_EQ(set.values(), (std::vector<double>{0, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0}));
}

// Eq. 5: term i of n takes the exponents i, i + n, ..., i + (2^k - 2) n.
TEST(Levels, EquationFiveTerms) {
  for (int k = 1; k <= 4; ++k) {
    for (int n = 1; k * n <= 8; ++n) {
      const auto terms = apot_terms(k * n, k);
      ASSERT_EQ(terms.size(), static_cast<size_t>(n));
      for (int i = 0; i < n; ++i) {
        std::vector<int> expected;
        for (int j = 0; j <= (1 << k) - 2; ++j) expected.push_back(i + j * n);
        EXPECT_EQ(terms[i].exponents, expected) << "k=" << k << " n=" << n << " i=" << i;
        EXPECT_EQ(terms[i].bits, k);
      }
    }
  }
}

// Eq. 6: m = 2n + 1 bits: p_i in {0, 2^-i, 2^-(i+n), 2^-(i+2n+1)} and p~ in {0, 2^-2n}.
TEST(Levels, EquationSixTerms) {
  for (int n = 1; 2 * n + 1 <= 8; ++n) {
    const auto terms = apot_terms(2 * n + 1, 2);
    ASSERT_EQ(terms.size(), static_cast<size_t>(n + 1));
    for (int i = 0; i < n; ++i) EXPECT_EQ(terms[i].exponents, (std::vector<int>{i, i + n, i + 2 * n + 1}));
    EXPECT_EQ(terms[n].exponents, (std::vector<int>{2 * n}));
    EXPECT_EQ(terms[n].bits, 1);
  }
}

// Section 2.2: k = 1 is uniform fixed point (Eq. 2), k = b is PoT (Eq. 3).
TEST(Levels, BaseOneIsUniformAndBaseBIsPot) {
  for (bool is_signed : {false, true}) {
    for (int bits = 2; bits <= 8; ++bits) {
      const int m = bits - (is_signed ? 1 : 0);
      const LevelSet k1 = LevelSet::apot(bits, 1, is_signed);
      std::vector<double> eq2;
      const double steps = std::ldexp(1.0, m) - 1;
      for (int j = -(is_signed ? (1 << m) - 1 : 0); j < (1 << m); ++j) eq2.push_back(j / steps);
      EXPECT_EQ(k1.values(), eq2) << bits;
      EXPECT_EQ(LevelSet::uniform(bits, is_signed).values(), eq2) << bits;

      std::vector<double> eq3 = {0.0};
      for (int e = (1 << m) - 2; e >= 0; --e) eq3.push_back(std::ldexp(1.0, -e));
      if (is_signed) {
        for (int e = 0; e <= (1 << m) - 2; ++e) eq3.insert(eq3.begin() + e, -std::ldexp(1.0, -e));
      }
      EXPECT_EQ(LevelSet::apot(bits, m, is_signed).values(), eq3) << bits;
      EXPECT_EQ(LevelSet::pot(bits, is_signed).values(), eq3) << bits;
    }
  }
}

TEST(Levels, EverySetIsAscendingDistinctAndNormalised) {
  for (const LevelSet& set : test::all_sets()) {
    SCOPED_TRACE(set.describe());
    const size_t magnitudes = size_t{1} << set.magnitude_bits();
    EXPECT_EQ(set.magnitudes().size(), magnitudes);
    EXPECT_EQ(set.levels().size(), set.is_signed() ? 2 * magnitudes - 1 : magnitudes);
    EXPECT_EQ(set.levels().back().value, 1.0);
    EXPECT_EQ(set.levels().front().value, set.is_signed() ? -1.0 : 0.0);
    for (size_t i = 1; i < set.levels().size(); ++i) EXPECT_LT(set.levels()[i - 1].value, set.levels()[i].value);
    for (const Level& l : set.levels()) {
      double sum = 0;
      for (int e : l.exponents) sum += std::ldexp(1.0, -e);
      EXPECT_NEAR(std::fabs(l.value), set.gamma() * sum, 1e-15);
    }
  }
}

TEST(Levels, TwoBitSignedIsTernary) {
  for (Scheme s : {Scheme::APoT, Scheme::Uniform, Scheme::PoT}) {
    EXPECT_EQ(LevelSet::make(s, 2, 0, true).values(), (std::vector<double>{-1, 0, 1})) << to_string(s);
  }
}

TEST(Levels, IntegerFormIsExactAndMinimal) {
  for (const LevelSet& set : test::all_sets()) {
    SCOPED_TRACE(set.describe());
    if (!set.has_integer_form()) {
      EXPECT_NE(set.scheme(), Scheme::Uniform);
      EXPECT_GT(set.integer_bits(), 63);
      continue;
    }
    bool some_odd = false;
    int64_t largest = 0;
    for (const Level& l : set.levels()) {
      int64_t from_terms = 0;  // exact: the level's terms scaled by 2^shift
      for (int e : l.exponents) from_terms += int64_t{1} << (set.shift() - e);
      EXPECT_EQ(l.integer, l.value < 0 ? -from_terms : from_terms);
      // value * 2^shift / gamma, up to the rounding of the normalised value
      EXPECT_NEAR(std::ldexp(l.value / set.gamma(), set.shift()), static_cast<double>(l.integer),
                  1e-12 * std::ldexp(1.0, set.integer_bits()));
      some_odd |= (l.integer % 2) != 0;
      largest = std::max(largest, l.integer);
    }
    EXPECT_TRUE(some_odd) << "a smaller shift would do";
    const int magnitude_bits = set.integer_bits() - (set.is_signed() ? 1 : 0);
    EXPECT_LT(static_cast<uint64_t>(largest), uint64_t{1} << magnitude_bits);
    EXPECT_GE(static_cast<uint64_t>(largest), uint64_t{1} << (magnitude_bits - 1));
  }
  const LevelSet apot4 = LevelSet::apot(4, 2, false);
  EXPECT_EQ(apot4.shift(), 5);
  EXPECT_EQ(apot4.integer_bits(), 6);  // largest: 2^5 + 2^4 = 48
  EXPECT_EQ(LevelSet::uniform(5, true).integer_bits(), 5);
  EXPECT_FALSE(LevelSet::pot(8, true).has_integer_form());
}

TEST(Levels, ImpossibleArgumentsAreErrors) {
  EXPECT_THROW(LevelSet::apot(1, 1, false), std::invalid_argument);
  EXPECT_THROW(LevelSet::apot(9, 2, false), std::invalid_argument);
  EXPECT_THROW(LevelSet::apot(4, 0, false), std::invalid_argument);
  EXPECT_THROW(LevelSet::apot(4, 5, false), std::invalid_argument);
  EXPECT_THROW(LevelSet::apot(2, 2, true), std::invalid_argument);  // one magnitude bit
  EXPECT_THROW(LevelSet::make(Scheme::Lloyd, 4, 0, false), std::invalid_argument);
  EXPECT_THROW(parse_scheme("apot2"), std::invalid_argument);
  try {
    LevelSet::apot(4, 5, false);
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("k = 5"), std::string::npos) << e.what();
  }
  EXPECT_THROW(LevelSet::lloyd({0, 0.5, 0.4, 1}, 2, false), std::invalid_argument);  // not ascending
  EXPECT_THROW(LevelSet::lloyd({0, 0.5}, 2, false), std::invalid_argument);          // wrong count
  EXPECT_THROW(LevelSet::lloyd({0, 0.5, NAN, 1}, 2, false), std::invalid_argument);
}

// A large k spreads one level's terms over more than 53 binary places: refused, not silently merged.
TEST(Levels, SetsNotDistinctInDoubleAreRefused) {
  int refused = 0;
  for (bool is_signed : {false, true}) {
    for (int bits = 2; bits <= 8; ++bits) {
      const int m = bits - (is_signed ? 1 : 0);
      for (int k = 1; k <= m; ++k) {
        const auto terms = apot_terms(m, k);
        const int max_exponent = terms.front().exponents.back() > terms.back().exponents.back()
                                     ? terms.front().exponents.back()
                                     : terms.back().exponents.back();
        const bool spans_too_far = terms.size() > 1 && max_exponent > 52;
        if (spans_too_far) {
          EXPECT_THROW(LevelSet::apot(bits, k, is_signed), std::invalid_argument) << bits << " " << k;
          ++refused;
        } else {
          EXPECT_NO_THROW(LevelSet::apot(bits, k, is_signed)) << bits << " " << k;
        }
      }
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_NO_THROW(LevelSet::apot(8, 3, false));
}

TEST(Levels, SchemeNamesRoundTrip) {
  for (Scheme s : {Scheme::Uniform, Scheme::PoT, Scheme::APoT, Scheme::Lloyd}) {
    EXPECT_EQ(parse_scheme(to_string(s)), s);
  }
}

}  // namespace
}  // namespace apot
