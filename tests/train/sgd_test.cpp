#include "train/sgd.h"

#include <gtest/gtest.h>

namespace apot::train {
namespace {

// MomentumSgd is torch.optim.SGD's update: the same parameters after the same gradients.
TEST(MomentumSgd, MatchesTorchSgd) {
  torch::manual_seed(3);
  torch::Tensor a = torch::randn({5}, torch::requires_grad());
  torch::Tensor b = a.detach().clone().requires_grad_(true);
  MomentumSgd ours({{{{"a", a}}, /*lr=*/0.1, /*weight_decay=*/1e-2}}, /*momentum=*/0.9);
  torch::optim::SGD theirs({b}, torch::optim::SGDOptions(0.1).momentum(0.9).weight_decay(1e-2));
  for (int step = 0; step < 5; ++step) {
    const torch::Tensor target = torch::randn({5});
    ours.zero_grad();
    theirs.zero_grad();
    (a - target).pow(2).sum().backward();
    (b - target).pow(2).sum().backward();
    ours.step();
    theirs.step();
  }
  EXPECT_TRUE(a.allclose(b, 1e-6, 1e-7)) << a << b;
}

TEST(MomentumSgd, StateRoundTripsAndRejectsForeignBuffers) {
  torch::Tensor p = torch::ones({3}, torch::requires_grad());
  MomentumSgd sgd({{{{"w", p}}, 0.1, 0}}, 0.9);
  p.sum().backward();
  sgd.step();
  const models::StateDict state = sgd.state();
  ASSERT_EQ(state.size(), 1u);
  EXPECT_EQ(state[0].first, "momentum.w");
  MomentumSgd restored({{{{"w", p}}, 0.1, 0}}, 0.9);
  restored.load_state(state, "test");
  EXPECT_TRUE(restored.state()[0].second.equal(state[0].second));
  EXPECT_THROW(restored.load_state({{"momentum.other", torch::ones({3})}}, "test"), std::runtime_error);
  EXPECT_THROW(restored.load_state({{"momentum.w", torch::ones({4})}}, "test"), std::runtime_error);
}

TEST(MomentumSgd, LrFactorScalesEveryGroupsBase) {
  torch::Tensor p = torch::ones({1}, torch::requires_grad()), q = torch::ones({1}, torch::requires_grad());
  MomentumSgd sgd({{{{"p", p}}, 0.1, 0}, {{{"q", q}}, 0.01, 0}}, 0.9);
  sgd.set_lr_factor(0.5);
  EXPECT_DOUBLE_EQ(sgd.lr(0), 0.05);
  EXPECT_DOUBLE_EQ(sgd.lr(1), 0.005);
}

// A parameter seen only through its magnitude trains the same from -p as from p: mirrored, momentum
// included, the two runs stay mirror images step for step.
TEST(MomentumSgd, ReflectingNegativeParametersMirrorsTheirTraining) {
  torch::Tensor a = torch::tensor({0.3f, -0.2f, 0.5f}).requires_grad_(true);
  torch::Tensor b = a.detach().neg().requires_grad_(true);
  MomentumSgd plain({{{{"a", a}}, 0.1, 1e-2}}, 0.9);
  MomentumSgd mirrored({{{{"b", b}}, 0.1, 1e-2}}, 0.9);
  const torch::Tensor target = torch::tensor({1.0f, 0.1f, 0.2f});
  for (int step = 0; step < 4; ++step) {
    plain.zero_grad();
    mirrored.zero_grad();
    (a.abs() - target).pow(2).sum().backward();
    (b.abs() - target).pow(2).sum().backward();
    plain.step();
    mirrored.step();
    plain.reflect_negative(0);
    mirrored.reflect_negative(0);
    EXPECT_TRUE((a >= 0).all().item<bool>()) << a;
    EXPECT_TRUE(a.allclose(b, 1e-6, 1e-7)) << a << b;
    EXPECT_TRUE(plain.state()[0].second.allclose(mirrored.state()[0].second, 1e-6, 1e-7));
  }
}

}  // namespace
}  // namespace apot::train
