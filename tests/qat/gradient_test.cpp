// The Gradient piece: the projection's gradient rule per side, and LSQ's gradient scale on alpha.
#include <gtest/gtest.h>

#include <cmath>

#include "qat/gradient.h"

namespace apot::qat {
namespace {

Pieces with_gradient(Gradient g, Sign sign = Sign::Signed) {
  Pieces p;
  p.sign = sign;
  p.gradient = g;
  return p;
}

TEST(Gradient, WeightsPassStraightThroughAndActivationsThroughTheClip) {
  const ClipGradRule weights = clip_grad_rule(Side::Weights, with_gradient(Gradient::Rcf), false);
  EXPECT_TRUE(weights.is_signed);
  EXPECT_EQ(weights.input, InputGrad::PassAll);  // Eq. 7: dW_hat / dW = 1
  EXPECT_EQ(weights.alpha, AlphaGrad::Rcf);      // Eq. 8
  EXPECT_EQ(clip_grad_rule(Side::Weights, with_gradient(Gradient::Ste, Sign::Unsigned), false).input, InputGrad::PassAll);
  const ClipGradRule acts = clip_grad_rule(Side::Activations, with_gradient(Gradient::Rcf, Sign::Unsigned), false);
  EXPECT_FALSE(acts.is_signed);
  EXPECT_EQ(acts.input, InputGrad::PassInRange);
  EXPECT_EQ(clip_grad_rule(Side::Activations, with_gradient(Gradient::Rcf, Sign::Unsigned), true).input,
            InputGrad::PassBelowAlpha);  // the reference clips from above only
  EXPECT_EQ(clip_grad_rule(Side::Activations, with_gradient(Gradient::Pact, Sign::Unsigned), false).alpha, AlphaGrad::Pact);
  // LSQ passes the input's gradient inside the range only, on both sides.
  EXPECT_EQ(clip_grad_rule(Side::Weights, with_gradient(Gradient::Lsq), false).input, InputGrad::PassInRange);
  EXPECT_EQ(clip_grad_rule(Side::Activations, with_gradient(Gradient::Lsq, Sign::Unsigned), false).input, InputGrad::PassInRange);
}

// The gradient alpha receives through threshold_for_projection, for a unit gradient on its output.
double alpha_gradient(Side side, Gradient g, const torch::Tensor& x, const LevelSet& set) {
  torch::Tensor alpha = torch::tensor(2.0f).requires_grad_(true);
  threshold_for_projection(side, g, alpha, x, set).backward();
  return alpha.grad().defined() ? alpha.grad().item<double>() : 0.0;
}

TEST(Gradient, LsqScalesAlphasGradientByQpSquaredOverSqrtNQp) {
  const LevelSet set = LevelSet::uniform(4, true);
  const double qp = lsq_qp(set);
  EXPECT_EQ(qp, 7);
  const torch::Tensor w = torch::randn({8, 64});
  EXPECT_NEAR(alpha_gradient(Side::Weights, Gradient::Lsq, w, set), qp * qp / std::sqrt(512 * qp), 1e-6);
  // Activations: N is one example's features.
  const torch::Tensor x = torch::rand({5, 3, 4, 4});
  EXPECT_NEAR(alpha_gradient(Side::Activations, Gradient::Lsq, x, set), qp * qp / std::sqrt(48 * qp), 1e-6);
  EXPECT_EQ(alpha_gradient(Side::Weights, Gradient::Rcf, w, set), 1.0);
  EXPECT_EQ(alpha_gradient(Side::Activations, Gradient::Pact, x, set), 1.0);
  torch::Tensor alpha = torch::tensor(2.0f).requires_grad_(true);
  EXPECT_FALSE(threshold_for_projection(Side::Weights, Gradient::Ste, alpha, w, set).requires_grad());
}

}  // namespace
}  // namespace apot::qat
