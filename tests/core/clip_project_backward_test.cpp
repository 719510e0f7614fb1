#include "core/clip_project_backward.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "core/project.h"

namespace apot {
namespace {

struct Case {
  std::vector<float> x, out, g;
};

Case make_case(const LevelSet& set, float alpha, std::vector<float> x) {
  Case c{std::move(x), {}, {}};
  c.out.resize(c.x.size());
  Projector(set).project(c.x.data(), c.out.data(), c.x.size(), alpha);
  for (size_t i = 0; i < c.x.size(); ++i) c.g.push_back(0.5f + 0.25f * static_cast<float>(i));
  return c;
}

TEST(ClipProjectBackward, WeightsFollowEq8AndPassEveryGradient) {
  const float alpha = 2.0f;
  const Case c = make_case(LevelSet::apot(4, 2, true), alpha, {-5.0f, -0.7f, 0.0f, 0.3f, 1.9f, 2.5f});
  std::vector<float> grad_x(c.x.size());
  const double sum = clip_project_backward(c.x.data(), c.out.data(), c.g.data(), grad_x.data(), c.x.size(), alpha,
                                           {/*is_signed=*/true, InputGrad::PassAll, AlphaGrad::Rcf});
  double expected = 0;
  for (size_t i = 0; i < c.x.size(); ++i) {
    const double y = c.x[i] / alpha;
    // Eq. 8: sign(W) where |W| > alpha, Proj(W / alpha) - W / alpha inside.
    expected += c.g[i] * (std::fabs(y) > 1 ? (y > 0 ? 1.0 : -1.0) : c.out[i] / alpha - y);
    EXPECT_EQ(grad_x[i], c.g[i]) << "STE passes the gradient of element " << i;
  }
  EXPECT_NEAR(sum, expected, 1e-6);
}

TEST(ClipProjectBackward, ActivationsClipBothSidesInThePaperAndAboveOnlyInTheReference) {
  const float alpha = 1.5f;
  const Case c = make_case(LevelSet::apot(4, 2, false), alpha, {-0.4f, 0.2f, 1.0f, 1.6f, 4.0f});
  std::vector<float> paper(c.x.size()), reference(c.x.size());
  const double paper_sum = clip_project_backward(c.x.data(), c.out.data(), c.g.data(), paper.data(), c.x.size(), alpha,
                                                 {false, InputGrad::PassInRange, AlphaGrad::Rcf});
  const double reference_sum = clip_project_backward(c.x.data(), c.out.data(), c.g.data(), reference.data(), c.x.size(),
                                                     alpha, {false, InputGrad::PassBelowAlpha, AlphaGrad::Rcf});
  EXPECT_EQ(paper[0], 0.0f);          // below 0: clipped in the paper
  EXPECT_EQ(reference[0], c.g[0]);    // the reference clips only from above
  for (size_t i = 1; i <= 2; ++i) EXPECT_EQ(paper[i], c.g[i]);
  for (size_t i = 3; i <= 4; ++i) {
    EXPECT_EQ(paper[i], 0.0f);
    EXPECT_EQ(reference[i], 0.0f);
  }
  double inside = 0;
  for (size_t i = 1; i <= 2; ++i) inside += c.g[i] * (c.out[i] / alpha - c.x[i] / alpha);
  const double clipped = c.g[3] + c.g[4];
  EXPECT_NEAR(paper_sum, inside + clipped, 1e-6);
  EXPECT_NEAR(reference_sum, inside + clipped + c.g[0] * (0 - c.x[0] / alpha), 1e-6);
}

TEST(ClipProjectBackward, PactLearnsOnlyFromClippedValues) {
  const float alpha = 1.0f;
  const Case c = make_case(LevelSet::uniform(4, false), alpha, {-1.0f, 0.33f, 0.5f, 1.2f, 3.0f});
  std::vector<float> grad_x(c.x.size());
  const double sum = clip_project_backward(c.x.data(), c.out.data(), c.g.data(), grad_x.data(), c.x.size(), alpha,
                                           {false, InputGrad::PassInRange, AlphaGrad::Pact});
  // Eq. 11: d y_q / d alpha = 1 for x >= alpha, 0 otherwise; d y_q / d x = 1 on [0, alpha).
  EXPECT_NEAR(sum, c.g[3] + c.g[4], 1e-6);
  EXPECT_EQ(grad_x[0], 0.0f);
  EXPECT_EQ(grad_x[1], c.g[1]);
  EXPECT_EQ(grad_x[2], c.g[2]);
  EXPECT_EQ(grad_x[3], 0.0f);
}

TEST(ClipProjectBackward, NullGradXComputesOnlyTheAlphaGradient) {
  const Case c = make_case(LevelSet::apot(3, 1, true), 1.0f, {0.1f, 0.9f, -2.0f});
  EXPECT_NEAR(clip_project_backward(c.x.data(), c.out.data(), c.g.data(), nullptr, c.x.size(), 1.0f, {true, InputGrad::PassAll, AlphaGrad::Rcf}),
              c.g[0] * (c.out[0] - 0.1) + c.g[1] * (c.out[1] - 0.9) - c.g[2], 1e-6);
}

// Every kernel family against the scalar reference: grad_x bit for bit, the sum to rounding, on lengths
// around the vector width, every rule, values in and out of range, exact levels, ties and signed zeros.
TEST(ClipProjectBackward, EveryKernelMatchesTheScalarReference) {
  const std::vector<ClipGradRule> rules = {{true, InputGrad::PassAll, AlphaGrad::Rcf},
                                           {false, InputGrad::PassInRange, AlphaGrad::Rcf},
                                           {false, InputGrad::PassBelowAlpha, AlphaGrad::Rcf},
                                           {false, InputGrad::PassInRange, AlphaGrad::Pact}};
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  for (Isa isa : supported_isas()) {
    for (const ClipGradRule& rule : rules) {
      const LevelSet set = LevelSet::apot(4, 2, rule.is_signed);
      for (size_t n : {1u, 7u, 8u, 9u, 16u, 33u, 1000u}) {
        std::vector<float> x(n);
        for (float& v : x) v = normal(rng);
        x[0] = 1.5f;  // exactly alpha
        if (n > 3) x[1] = -0.0f, x[2] = -1.5f, x[3] = 0.25f * 1.5f;
        const Case c = make_case(set, 1.5f, x);
        std::vector<float> reference(n), fast(n);
        const double expected = clip_project_backward(c.x.data(), c.out.data(), c.g.data(), reference.data(), n, 1.5f, rule, Isa::Scalar);
        const double sum = clip_project_backward(c.x.data(), c.out.data(), c.g.data(), fast.data(), n, 1.5f, rule, isa);
        EXPECT_EQ(std::memcmp(reference.data(), fast.data(), n * sizeof(float)), 0) << to_string(isa) << " n = " << n;
        EXPECT_NEAR(sum, expected, 1e-9 * (1 + std::fabs(expected))) << to_string(isa) << " n = " << n;
      }
    }
  }
}

}  // namespace
}  // namespace apot
