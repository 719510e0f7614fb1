// Weight quantisers: outputs on alpha times the level set, the paper's and the reference's weight
// normalisation, the baselines' thresholds, the 8-bit edge layers.
#include <gtest/gtest.h>

#include "core/sawb.h"
#include "qat/clip_project.h"
#include "qat/weight_quant.h"

namespace apot::qat {
namespace {

QuantConfig config_with(int bits, WeightQuantizer wq = WeightQuantizer::Rcf) {
  QuantConfig c;
  c.weight_bits = c.act_bits = bits;
  c.weight_quantizer = wq;
  return c;
}

// Every element of out / alpha is a level of the set.
void expect_on_levels(const torch::Tensor& out, const torch::Tensor& alpha, const LevelSet& set) {
  const torch::Tensor scaled = (out / alpha.reshape({-1, 1})).reshape({-1});
  const auto values = set.values();
  const torch::Tensor levels = torch::tensor(std::vector<float>(values.begin(), values.end()));
  const torch::Tensor distance = (scaled.unsqueeze(1) - levels.unsqueeze(0)).abs().amin(1);
  EXPECT_LT(distance.max().item<float>(), 1e-5) << set.describe();
}

TEST(WeightQuant, RcfWeightsLieOnAlphaTimesTheLevels) {
  for (int bits : {2, 3, 4, 5}) {
    WeightQuant wq(config_with(bits), 8);
    const torch::Tensor w = torch::randn({8, 4, 3, 3}) * 0.1 + 0.02;
    expect_on_levels(wq->forward(w), wq->wgt_alpha.detach(), wq->levels());
  }
  // 2-bit weights are ternary (paper section 4.1).
  EXPECT_EQ(WeightQuant(config_with(2), 1)->levels().values(), (std::vector<double>{-1, 0, 1}));
}

TEST(WeightQuant, WeightNormalisationIsEq9OrTheReferences) {
  const torch::Tensor w = torch::randn({16, 8, 3, 3}) * 0.05 + 0.01;
  QuantConfig paper = config_with(4);
  QuantConfig reference = paper;
  reference.reference_compat = true;
  const torch::Tensor mean = w.mean();
  EXPECT_TRUE(WeightQuant(paper, 16)->normalize(w).allclose((w - mean) / (w.std(false) + 1e-5)));
  EXPECT_TRUE(WeightQuant(reference, 16)->normalize(w).allclose((w - mean) / w.std(true)));
  // The paper's statistics carry gradients; the reference's are constants.
  torch::Tensor wg = w.clone().requires_grad_(true);
  WeightQuant(paper, 16)->normalize(wg).sum().backward();
  EXPECT_LT(wg.grad().abs().max().item<float>(), 1e-3);  // the mean's gradient cancels the sum's
  torch::Tensor wr = w.clone().requires_grad_(true);
  WeightQuant(reference, 16)->normalize(wr).sum().backward();
  EXPECT_NEAR(wr.grad()[0][0][0][0].item<float>(), 1.0 / w.std(true).item<double>(), 1e-3);
}

TEST(WeightQuant, NoRcfUsesMaxAbsAndClipsNothing) {
  QuantConfig c = config_with(4, WeightQuantizer::MaxAbs);
  WeightQuant wq(c, 4);
  const torch::Tensor w = torch::randn({4, 100});
  const torch::Tensor alpha = wq->alpha_for(w);
  EXPECT_FLOAT_EQ(alpha.item<float>(), wq->normalize(w).abs().max().item<float>());
  const torch::Tensor out = wq->forward(w);
  expect_on_levels(out, alpha, wq->levels());
  EXPECT_FLOAT_EQ(out.abs().max().item<float>(), alpha.item<float>());
  EXPECT_TRUE(wq->parameters().empty()) << "nothing learned";
}

TEST(WeightQuant, PerChannelAlphaHasOneThresholdPerOutputChannel) {
  QuantConfig c = config_with(4);
  c.per_channel = true;
  WeightQuant wq(c, 6);
  ASSERT_EQ(wq->wgt_alpha.sizes(), torch::IntArrayRef({6}));
  {
    torch::NoGradGuard no_grad;
    wq->wgt_alpha.copy_(torch::tensor({0.5f, 1.0f, 1.5f, 2.0f, 2.5f, 3.0f}));
  }
  const torch::Tensor out = wq->forward(torch::randn({6, 3, 3, 3}));
  expect_on_levels(out.reshape({6, -1}), wq->wgt_alpha.detach(), wq->levels());
  out.sum().backward();
  EXPECT_EQ(wq->wgt_alpha.grad().sizes(), torch::IntArrayRef({6}));
}

TEST(WeightQuant, SawbTakesItsAlphaFromTheMoments) {
  WeightQuant wq(config_with(3, WeightQuantizer::Sawb), 4);
  const torch::Tensor w = torch::randn({4, 256}) * 0.1;
  const SawbCoefficients c = fit_sawb(LevelSet::uniform(3, true)).coefficients;
  const double expected = c.c1 * std::sqrt(w.pow(2).mean().item<double>()) - c.c2 * w.abs().mean().item<double>();
  EXPECT_NEAR(wq->alpha_for(w).item<double>(), expected, 1e-5);
  expect_on_levels(wq->forward(w), wq->alpha_for(w), LevelSet::uniform(3, true));
}

TEST(WeightQuant, DorefaMapsTanhOntoUniformLevelsInMinusOneOne) {
  WeightQuant wq(config_with(2, WeightQuantizer::Dorefa), 4);
  const torch::Tensor out = wq->forward(torch::randn({4, 100}));
  const torch::Tensor expected_levels = torch::tensor({-1.0f, -1.0f / 3, 1.0f / 3, 1.0f});
  const torch::Tensor distance = (out.reshape({-1, 1}) - expected_levels.unsqueeze(0)).abs().amin(1);
  EXPECT_LT(distance.max().item<float>(), 1e-6);
}

TEST(WeightQuant, LsqInitialisesItsStepFromTheWeightsAndScalesItsGradient) {
  WeightQuant wq(config_with(4, WeightQuantizer::Lsq), 8);
  const torch::Tensor w = torch::randn({8, 64}) * 0.1;
  wq->init_from(w);
  const double qp = 7;  // 4-bit signed symmetric
  EXPECT_NEAR(wq->wgt_alpha.item<double>(), 2 * w.abs().mean().item<double>() * std::sqrt(qp), 1e-5);
  // The threshold's gradient is RCF's times Qp^2 / sqrt(N Qp): SGD on alpha = s Qp is then SGD on LSQ's s.
  wq->forward(w).sum().backward();
  torch::Tensor alpha = wq->wgt_alpha.detach().clone().requires_grad_(true);
  const Projector projector(LevelSet::uniform(4, true));
  clip_project(w, alpha, projector, {true, InputGrad::PassInRange, AlphaGrad::Rcf}).sum().backward();
  EXPECT_NEAR(wq->wgt_alpha.grad().item<double>(), alpha.grad().item<double>() * qp * qp / std::sqrt(512 * qp), 1e-5);
}

TEST(WeightQuant, LloydLevelsAreFittedAndKeptInABuffer) {
  QuantConfig c = config_with(3);
  c.scheme = Scheme::Lloyd;
  WeightQuant wq(c, 4);
  const torch::Tensor w = torch::randn({4, 500});
  wq->init_from(w);
  EXPECT_EQ(wq->levels().scheme(), Scheme::Lloyd);
  EXPECT_GT(wq->lloyd_levels.abs().sum().item<float>(), 0);
  expect_on_levels(wq->forward(w), wq->wgt_alpha.detach(), wq->levels());
}

TEST(WeightQuant, ReferenceEdgeLayersScaleByMaxW) {
  QuantConfig body = config_with(4);
  body.reference_compat = true;
  WeightQuant edge(body.edge_config(), 4);
  const torch::Tensor w = torch::randn({4, 50});
  const torch::Tensor max = w.max();
  EXPECT_TRUE(edge->forward(w).equal(w.div(max).mul(127).round().div(127).mul(max)));
  WeightQuant paper_edge(config_with(4).edge_config(), 4);
  expect_on_levels(paper_edge->forward(w), w.abs().max(), LevelSet::uniform(8, true));
}

}  // namespace
}  // namespace apot::qat
