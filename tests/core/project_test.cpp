#include "core/project.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "core/lloyd.h"
#include "tests/core/all_sets.h"

namespace apot {
namespace {

std::vector<float> random_values(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.6f);
  std::uniform_real_distribution<float> wide(-3.0f, 3.0f);
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = (i % 3 == 0) ? wide(rng) : normal(rng);
  return v;
}

// Each level, each float midpoint and their float neighbours, zeros, bounds, infinities, tiny values.
std::vector<float> edge_values(const ProjectionTables& t) {
  std::vector<float> v = {0.0f, -0.0f, 1.0f, -1.0f, 2.0f, -2.0f, FLT_MIN, -FLT_MIN, FLT_TRUE_MIN, 1e30f, -1e30f,
                          std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()};
  auto add_around = [&v](float x) {
    for (float s : {1.0f, -1.0f}) {
      v.push_back(s * x);
      v.push_back(s * std::nextafter(x, 0.0f));
      v.push_back(s * std::nextafter(x, 2.0f));
    }
  };
  for (float m : t.magnitudes) add_around(m);
  for (float th : t.thresholds) {
    if (std::isfinite(th)) add_around(th);
  }
  return v;
}

std::vector<float> run(const Projector& p, const std::vector<float>& in, float alpha, Isa isa) {
  std::vector<float> out(in.size());
  p.project(in.data(), out.data(), in.size(), alpha, isa);
  return out;
}

void expect_bitwise_equal(const std::vector<float>& a, const std::vector<float>& b, const std::vector<float>& in) {
  ASSERT_EQ(a.size(), b.size());
  size_t mismatches = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0 && mismatches++ < 5) {
      ADD_FAILURE() << "element " << i << " input " << in[i] << ": " << a[i] << " vs " << b[i];
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

bool has_avx2() { return cpu_supports(Isa::Avx2); }

TEST(Project, ScalarAndAvx2AgreeBitForBitOnTenMillionValues) {
  if (!has_avx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  const auto in = random_values(10'000'000, 1);
  for (const LevelSet& set : {LevelSet::apot(4, 2, true), LevelSet::apot(4, 2, false)}) {
    SCOPED_TRACE(set.describe());
    const Projector p(set);
    expect_bitwise_equal(run(p, in, 1.0f, Isa::Scalar), run(p, in, 1.0f, Isa::Avx2), in);
  }
}

TEST(Project, ScalarAndAvx2AgreeOnEverySetAlphaAndEdge) {
  if (!has_avx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  const auto random = random_values(100'000, 2);
  for (const LevelSet& set : test::projectable_sets()) {
    SCOPED_TRACE(set.describe());
    const Projector p(set);
    auto in = edge_values(p.tables());
    in.insert(in.end(), random.begin(), random.end());
    for (float alpha : {1.0f, 0.37f, 3.0f}) {
      std::vector<float> scaled = in;
      if (alpha != 1.0f) {
        for (float& x : scaled) x *= alpha;  // exercises the same edges through the division
      }
      expect_bitwise_equal(run(p, scaled, alpha, Isa::Scalar), run(p, scaled, alpha, Isa::Avx2), scaled);
    }
  }
}

TEST(Project, TileEdgesTailsAndMisalignment) {
  if (!has_avx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  const Projector p(LevelSet::apot(5, 2, true));  // 16 magnitudes: the two-register lookup
  const auto in = random_values(64, 3);
  for (size_t offset = 0; offset < 3; ++offset) {
    for (size_t n = 0; n <= 33; ++n) {
      std::vector<float> a(n + 3, -7.0f), b(n + 3, -7.0f);
      p.project(in.data() + offset, a.data() + offset, n, 1.0f, Isa::Scalar);
      p.project(in.data() + offset, b.data() + offset, n, 1.0f, Isa::Avx2);
      ASSERT_EQ(a, b) << "n=" << n << " offset=" << offset;
      EXPECT_EQ(a[offset + n], -7.0f) << "wrote past the end";
    }
  }
}

// q is a nearest level of clip(x): no level is closer, up to the float rounding of levels and midpoints
// (exact ties are tested on their own below).
void expect_nearest(const LevelSet& set, float x, float q) {
  const double a = std::clamp(static_cast<double>(x), set.is_signed() ? -1.0 : 0.0, 1.0);
  for (const Level& l : set.levels()) {
    ASSERT_LE(std::fabs(a - q), std::fabs(a - l.value) + 1e-7) << "input " << x << " got " << q << " but "
                                                                << l.value << " is nearer";
  }
}

TEST(Project, PropertiesOnEveryIsa) {
  for (Isa isa : supported_isas()) {
    for (const LevelSet& set : test::projectable_sets()) {
      SCOPED_TRACE(set.describe() + " " + std::string(to_string(isa)));
      const Projector p(set);
      auto in = random_values(4000, 4);
      const auto edges = edge_values(p.tables());
      in.insert(in.end(), edges.begin(), edges.end());
      const float alpha = 0.75f;
      const auto out = run(p, in, alpha, isa);
      const auto twice = run(p, out, alpha, isa);
      EXPECT_EQ(out, twice) << "not idempotent";
      const auto at_one = run(p, in, 1.0f, isa);
      for (size_t i = 0; i < in.size(); ++i) {
        ASSERT_LE(std::fabs(out[i]), alpha) << "clip bound, input " << in[i];
        if (!set.is_signed()) {
          ASSERT_GE(out[i], 0.0f);
        }
        expect_nearest(set, in[i], at_one[i]);
        ASSERT_NE(std::find(p.tables().magnitudes.begin(), p.tables().magnitudes.end(), std::fabs(at_one[i])),
                  p.tables().magnitudes.end()) << "not a level: " << at_one[i];
      }
      auto sorted = in;
      std::sort(sorted.begin(), sorted.end());
      const auto monotone = run(p, sorted, alpha, isa);
      EXPECT_TRUE(std::is_sorted(monotone.begin(), monotone.end())) << "not monotone";
    }
  }
}

TEST(Project, TiesGoToTheLargerMagnitudeAndZeroHasNoSign) {
  const LevelSet set = LevelSet::apot(4, 2, true);
  const Projector p(set);
  for (Isa isa : supported_isas()) {
    const auto& mags = p.tables().magnitudes;
    std::vector<float> in;
    for (int i = 0; i + 1 < 8; ++i) in.push_back((mags[i] + mags[i + 1]) / 2);
    in.push_back(-(mags[1] + mags[2]) / 2);
    in.push_back(-mags[1] / 4);
    const auto out = run(p, in, 1.0f, isa);
    for (int i = 0; i + 1 < 8; ++i) EXPECT_EQ(out[i], mags[i + 1]);
    EXPECT_EQ(out[7], -mags[2]);
    EXPECT_EQ(out[8], 0.0f);
    EXPECT_FALSE(std::signbit(out[8])) << "zero keeps no sign";
  }
}

TEST(Project, InfinitiesClipAndNanIsAnErrorNamingTheElement) {
  const float inf = std::numeric_limits<float>::infinity();
  for (Isa isa : supported_isas()) {
    const Projector signed_p(LevelSet::apot(4, 2, true));
    EXPECT_EQ(run(signed_p, {inf, -inf}, 2.0f, isa), (std::vector<float>{2.0f, -2.0f}));
    const Projector unsigned_p(LevelSet::apot(4, 2, false));
    EXPECT_EQ(run(unsigned_p, {inf, -inf, -5.0f}, 2.0f, isa), (std::vector<float>{2.0f, 0.0f, 0.0f}));
    for (size_t position : {0u, 5u, 8u, 20u, 22u}) {
      std::vector<float> in(23, 0.5f);
      in[position] = NAN;
      in[22] = position == 22 ? NAN : -NAN;  // a later NaN must not be the one reported
      try {
        std::vector<float> inplace = in;
        signed_p.project(inplace.data(), inplace.data(), inplace.size(), 1.0f, isa);
        ADD_FAILURE() << "no error for NaN";
      } catch (const std::domain_error& e) {
        EXPECT_NE(std::string(e.what()).find("element " + std::to_string(position) + " "), std::string::npos)
            << e.what();
      }
    }
  }
}

// The kernels refuse exactly the sets whose levels float cannot keep apart.
TEST(Project, RefusesOnlySetsFloatCannotRepresent) {
  size_t refused = 0;
  for (const LevelSet& set : test::all_sets()) {
    bool float_collides = false;
    const auto& mags = set.magnitudes();
    for (size_t i = 1; i < mags.size(); ++i) {
      float_collides |= static_cast<float>(mags[i - 1].value) == static_cast<float>(mags[i].value);
    }
    const bool subnormal_midpoint = static_cast<float>(mags[1].value / 2) < FLT_MIN;
    if (float_collides || subnormal_midpoint) {
      EXPECT_THROW(Projector{set}, std::invalid_argument) << set.describe();
      ++refused;
    } else {
      EXPECT_NO_THROW(Projector{set}) << set.describe();
    }
  }
  EXPECT_GT(refused, 0u);
  EXPECT_GT(test::projectable_sets().size(), 60u);
}

TEST(Project, BadArgumentsAreErrors) {
  const Projector p(LevelSet::apot(4, 2, true));
  float x = 0.5f;
  for (float alpha : {0.0f, -1.0f, NAN, std::numeric_limits<float>::infinity()}) {
    EXPECT_THROW(p.project(&x, &x, 1, alpha), std::invalid_argument) << alpha;
  }
  EXPECT_THROW(Projector(LevelSet::pot(8, true)), std::invalid_argument);  // 2^-126: midpoint subnormal
  EXPECT_NO_THROW(Projector(LevelSet::pot(7, true)));
  p.project(&x, &x, 0);  // empty input is no work, not an error
}

TEST(Project, LloydLevelsUseTheGatherPathToo) {
  std::vector<float> data = random_values(20000, 5);
  const auto mags = lloyd_max_magnitudes(data.data(), data.size(), 6, true, 2.0);
  const Projector p(LevelSet::lloyd(mags, 7, true));
  EXPECT_EQ(p.tables().steps, 6);
  if (has_avx2()) expect_bitwise_equal(run(p, data, 2.0f, Isa::Scalar), run(p, data, 2.0f, Isa::Avx2), data);
}

}  // namespace
}  // namespace apot

namespace apot {
namespace {

// A float32 argmin over the float32-rounded levels, as the public reference implementation projects.
// Its exact ties follow Python's set order: 0 comes first and wins; among the others the larger level
// won in every case seen in its level sets, the rule Float32Argmin documents.
float float32_argmin(const std::vector<float>& levels, float a) {
  float best = levels[0];
  for (float l : levels) {
    const float d = std::fabs(a - l), best_d = std::fabs(a - best);
    if (d < best_d || (d == best_d && best != 0.0f)) best = l;
  }
  return best;
}

TEST(Project, Float32ArgminMidpointsDecideAsTheReferencesArgmin) {
  for (const LevelSet& set : {LevelSet::apot(4, 2, true), LevelSet::apot(3, 2, false), LevelSet::apot(4, 2, false),
                              LevelSet::apot(2, 2, false), LevelSet::apot(5, 2, false)}) {
    const Projector projector(set, Midpoints::Float32Argmin);
    std::vector<float> levels;
    for (const Level& l : set.magnitudes()) levels.push_back(static_cast<float>(l.value));
    // Every float level, every float midpoint and their neighbours: where the decisions are.
    std::vector<float> probes;
    for (size_t i = 0; i + 1 < levels.size(); ++i) {
      float m = static_cast<float>((static_cast<double>(levels[i]) + levels[i + 1]) / 2);
      for (int step = 0; step < 3; ++step) m = std::nextafter(m, 0.0f);
      for (int step = 0; step < 7; ++step, m = std::nextafter(m, 2.0f)) probes.push_back(m);
    }
    std::vector<float> out(probes.size());
    projector.project(probes.data(), out.data(), probes.size(), 1.0f, Isa::Scalar);
    for (size_t i = 0; i < probes.size(); ++i) {
      EXPECT_EQ(out[i], float32_argmin(levels, probes[i])) << set.describe() << " at " << probes[i];
    }
  }
}

}  // namespace
}  // namespace apot
