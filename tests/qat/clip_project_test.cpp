// The autograd function behind every clipping quantiser: forward equals the core projection, backward
// equals Eq. 8 (and finite differences where the projection is locally constant), STE for the input,
// per-channel thresholds, and no dependence on the thread count.
#include "qat/clip_project.h"

#include <gtest/gtest.h>

namespace apot::qat {
namespace {

const ClipGradRule kWeights{true, InputGrad::PassAll, AlphaGrad::Rcf};

TEST(ClipProject, ForwardIsTheCoreProjection) {
  const Projector projector(LevelSet::apot(4, 2, true));
  const torch::Tensor x = torch::randn({1000});
  const torch::Tensor out = clip_project(x, torch::tensor(1.7f), projector, kWeights);
  std::vector<float> expected(1000);
  projector.project(x.data_ptr<float>(), expected.data(), 1000, 1.7f);
  EXPECT_TRUE(out.equal(torch::tensor(expected)));
}

double loss(const torch::Tensor& x, const torch::Tensor& g, double alpha, const Projector& projector) {
  const torch::Tensor out = clip_project(x, torch::tensor(static_cast<float>(alpha)), projector, kWeights);
  return (out.to(torch::kDouble) * g.to(torch::kDouble)).sum().item<double>();
}

double alpha_grad(const torch::Tensor& x, const torch::Tensor& g, double alpha, const Projector& projector) {
  torch::Tensor a = torch::tensor(static_cast<float>(alpha), torch::requires_grad());
  (clip_project(x, a, projector, kWeights) * g).sum().backward();
  return a.grad().item<double>();
}

TEST(ClipProject, AlphaGradientIsEq8) {
  torch::manual_seed(1);
  const Projector projector(LevelSet::apot(5, 2, true));
  const torch::Tensor x = torch::randn({4096}) * 1.5;
  const torch::Tensor g = torch::randn({4096});
  const double a = 2.0;
  const torch::Tensor y = x / a;
  const torch::Tensor q = clip_project(x, torch::tensor(static_cast<float>(a)), projector, kWeights) / a;
  // Eq. 8: sign(W) where |W| > alpha, Proj(W / alpha) - W / alpha inside.
  const torch::Tensor eq8 = torch::where(y.abs() > 1, y.sign(), q - y);
  EXPECT_NEAR(alpha_grad(x, g, a, projector), (g * eq8).sum().item<double>(), 1e-3);
}

TEST(ClipProject, AlphaGradientMatchesFiniteDifferencesWhereTheProjectionIsLocallyConstant) {
  torch::manual_seed(2);
  const Projector projector(LevelSet::apot(4, 2, true));
  const double a = 1.5, h = 1e-3;
  const torch::Tensor g = torch::randn({256});
  // Clipped weights: out = alpha * sign(W), so the finite difference is Eq. 8's sign(W) exactly.
  const torch::Tensor clipped = torch::cat({torch::rand({128}) + 2.0, -torch::rand({128}) - 2.0});
  const double numeric_clipped = (loss(clipped, g, a + h, projector) - loss(clipped, g, a - h, projector)) / (2 * h);
  EXPECT_NEAR(alpha_grad(clipped, g, a, projector), numeric_clipped, 1e-3);
  // Inside, on levels (far from every decision threshold): out = alpha * Proj(W / alpha) with a constant
  // projection, whose finite difference is Proj(y); Eq. 8 is that minus y, the straight-through part
  // (d Proj / d y = 1 times d (W / alpha) / d alpha = -y / alpha, times alpha).
  const torch::Tensor on_levels = clip_project(torch::randn({256}) * 0.6, torch::tensor(static_cast<float>(a)), projector, kWeights);
  const double numeric_inside = (loss(on_levels, g, a + h, projector) - loss(on_levels, g, a - h, projector)) / (2 * h);
  const double sum_g_y = (g * on_levels / a).sum().item<double>();
  EXPECT_NEAR(alpha_grad(on_levels, g, a, projector), numeric_inside - sum_g_y, 1e-3);
}

TEST(ClipProject, InputGradientIsStraightThrough) {
  const Projector projector(LevelSet::apot(4, 2, false));
  torch::Tensor x = torch::tensor({-0.5f, 0.3f, 0.9f, 2.5f}, torch::requires_grad());
  const torch::Tensor g = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f});
  (clip_project(x, torch::tensor(1.0f), projector, {false, InputGrad::PassInRange, AlphaGrad::Rcf}) * g).sum().backward();
  EXPECT_TRUE(x.grad().equal(torch::tensor({0.0f, 2.0f, 3.0f, 0.0f})));
}

TEST(ClipProject, PerChannelThresholdsGetTheirOwnGradient) {
  const Projector projector(LevelSet::apot(4, 2, true));
  const torch::Tensor x = torch::randn({3, 50});
  torch::Tensor alpha = torch::tensor({0.5f, 1.0f, 2.0f}, torch::requires_grad());
  const torch::Tensor out = clip_project(x, alpha, projector, kWeights);
  out.sum().backward();
  for (int64_t c = 0; c < 3; ++c) {
    torch::Tensor a = torch::tensor(alpha[c].item<float>(), torch::requires_grad());
    const torch::Tensor row = clip_project(x[c], a, projector, kWeights);
    EXPECT_TRUE(row.equal(out[c])) << "channel " << c;
    row.sum().backward();
    EXPECT_NEAR(alpha.grad()[c].item<double>(), a.grad().item<double>(), 1e-5) << "channel " << c;
  }
}

TEST(ClipProject, GradientsDoNotDependOnTheThreadCount) {
  const Projector projector(LevelSet::apot(4, 2, false));
  const torch::Tensor x = torch::rand({1 << 18}) * 3;
  auto grad_with_threads = [&](int threads) {
    at::set_num_threads(threads);
    torch::Tensor alpha = torch::tensor(1.3f, torch::requires_grad());
    clip_project(x, alpha, projector, {false, InputGrad::PassInRange, AlphaGrad::Rcf}).sum().backward();
    return alpha.grad().item<float>();
  };
  const float one = grad_with_threads(1);
  EXPECT_EQ(one, grad_with_threads(2));
  EXPECT_EQ(one, grad_with_threads(3));
}

TEST(ClipProject, BadInputIsAnErrorThatSaysWhy) {
  const Projector projector(LevelSet::apot(4, 2, true));
  torch::Tensor x = torch::randn({100});
  x[42] = std::numeric_limits<float>::quiet_NaN();
  try {
    clip_project(x, torch::tensor(1.0f), projector, kWeights);
    FAIL() << "NaN accepted";
  } catch (const std::domain_error& e) {
    EXPECT_NE(std::string(e.what()).find("element 42"), std::string::npos) << e.what();
  }
  EXPECT_THROW(clip_project(torch::randn({10}), torch::tensor(0.0f), projector, kWeights), std::invalid_argument);
  EXPECT_THROW(clip_project(torch::randn({10}).to(torch::kDouble), torch::tensor(1.0f), projector, kWeights), std::invalid_argument);
  EXPECT_THROW(clip_project(torch::randn({4, 3}), torch::ones({3}), projector, kWeights), std::invalid_argument);
}

}  // namespace
}  // namespace apot::qat
