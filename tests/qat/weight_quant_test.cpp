// Weight quantisers: every row of the table on alpha times its level set, the pieces composed (weight
// normalisation, per-channel, LSQ's scaled gradient, Lloyd levels), the 8-bit edge layers.
#include <gtest/gtest.h>

#include "qat/clip_project.h"
#include "qat/normalization.h"
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

TEST(WeightQuant, EveryQuantiserLiesOnItsLevelsAndPassesGradients) {
  for (const auto& r : kWeightQuantizers) {
    WeightQuant wq(config_with(4, r.id), 8);
    const torch::Tensor w = (torch::randn({8, 4, 3, 3}) * 0.1).requires_grad_(true);
    wq->init_from(w);
    const torch::Tensor out = wq->forward(w);
    // The outputs the pieces allow: alpha times a level, mapped back by the normalisation.
    const auto values = wq->levels().values();
    const torch::Tensor levels = torch::tensor(std::vector<float>(values.begin(), values.end()));
    const torch::Tensor allowed = denormalize(r.pieces.normalization, wq->alpha_for(w) * levels);
    const torch::Tensor distance = (out.detach().reshape({-1, 1}) - allowed.unsqueeze(0)).abs().amin(1);
    EXPECT_LT(distance.max().item<float>(), 1e-5) << r.name;
    out.sum().backward();
    EXPECT_TRUE(w.grad().defined()) << r.name;
    EXPECT_EQ(wq->wgt_alpha.defined() && wq->wgt_alpha.grad().defined(), is_learned(r.pieces.threshold)) << r.name;
  }
}

TEST(WeightQuant, NormalisesAsItsPiecesSay) {
  const torch::Tensor w = torch::randn({16, 8, 3, 3}) * 0.05 + 0.01;
  const QuantConfig rcf = config_with(4);
  EXPECT_TRUE(WeightQuant(rcf, 16)->normalize(w).equal(normalize(Normalization::WeightNorm, w, rcf)));
  QuantConfig no_wn = rcf;
  no_wn.weight_norm = false;
  EXPECT_TRUE(WeightQuant(no_wn, 16)->normalize(w).equal(w));
  EXPECT_TRUE(WeightQuant(config_with(4, WeightQuantizer::Sawb), 16)->normalize(w).equal(w));
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
