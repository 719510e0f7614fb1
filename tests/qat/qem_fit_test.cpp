// QEM thresholds for learned alphas (qat/qem_fit.h): the weight and activation quantisers start their
// thresholds where Eq. 14 is smallest for their own level set.
#include <gtest/gtest.h>

#include "core/quant_error.h"
#include "qat/act_quant.h"
#include "qat/qem_fit.h"
#include "qat/weight_quant.h"

namespace apot::qat {
namespace {

QuantConfig config_with(int bits) {
  QuantConfig c;
  c.weight_bits = c.act_bits = bits;
  return c;
}

double error_at(const LevelSet& set, const torch::Tensor& x, double alpha) {
  const torch::Tensor c = x.detach().reshape({-1}).contiguous();
  return quantization_error(set, c.data_ptr<float>(), static_cast<size_t>(c.numel()), alpha).total();
}

TEST(QemThreshold, TernaryWeightsGetTheGaussianOptimumNotThePapersConstant) {
  torch::manual_seed(1);
  WeightQuant wq(config_with(2), 16);
  const torch::Tensor w = torch::randn({16, 16, 3, 3}) * 0.07 + 0.01;
  EXPECT_FLOAT_EQ(wq->wgt_alpha.item<float>(), 3.0f);
  ASSERT_TRUE(wq->fit_threshold(w));
  const double alpha = wq->wgt_alpha.item<double>();
  // The optimal ternary quantiser of N(0, 1) with the midpoint rule: levels near +-1.22.
  EXPECT_NEAR(alpha, 1.22, 0.1);
  const torch::Tensor x = wq->normalize(w);
  for (double other : {0.8, 1.0, 1.5, 2.0, 3.0}) EXPECT_LT(error_at(wq->levels(), x, alpha), error_at(wq->levels(), x, other)) << other;
  // Alpha 3 zeroes 85 % of the normalised weights; the fitted one about half.
  const double zeros = (wq->forward(w) == 0).to(torch::kDouble).mean().item<double>();
  EXPECT_GT(zeros, 0.35);
  EXPECT_LT(zeros, 0.6);
}

TEST(QemThreshold, PerChannelThresholdsAreFittedChannelByChannel) {
  QuantConfig c = config_with(3);
  c.weight_norm = false;
  c.per_channel = true;
  WeightQuant wq(c, 2);
  torch::manual_seed(2);
  torch::Tensor w = torch::randn({2, 64, 3, 3});
  w[1] *= 4;  // the second channel's scale is 4x the first's
  ASSERT_TRUE(wq->fit_threshold(w));
  const double a0 = wq->wgt_alpha[0].item<double>(), a1 = wq->wgt_alpha[1].item<double>();
  EXPECT_FLOAT_EQ(a0, *qem_threshold(wq->levels(), w[0]));
  EXPECT_FLOAT_EQ(a1, *qem_threshold(wq->levels(), w[1]));
  EXPECT_NEAR(a1 / a0, 4.0, 0.8);
}

TEST(QemThreshold, OnlyRcfThresholdsAreFitted) {
  QuantConfig lsq = config_with(3);
  apply_quantizer_name("lsq", &lsq);
  WeightQuant wq(lsq, 4);
  const float before = wq->wgt_alpha.item<float>();
  EXPECT_FALSE(wq->fit_threshold(torch::randn({4, 8})));
  EXPECT_EQ(wq->wgt_alpha.item<float>(), before);
}

TEST(QemThreshold, ActivationsFitTheirUnsignedLevelsAndSampleLargeInputs) {
  const ActQuant act(config_with(2));
  torch::manual_seed(3);
  // Post-ReLU activations of a half-normal: levels {0, 0.25... } at alpha 8 would zero almost all of them.
  const torch::Tensor x = torch::relu(torch::randn({kQemSampleLimit * 3 + 17}));
  const auto alpha = act.fit_threshold(x);
  ASSERT_TRUE(alpha.has_value());
  EXPECT_GT(*alpha, 0.5);
  EXPECT_LT(*alpha, 3.5);
  EXPECT_LT(error_at(act.levels(), x, *alpha), error_at(act.levels(), x, 8.0));
  // A dead layer (nothing above zero) has nothing to fit; NaN is named.
  EXPECT_FALSE(act.fit_threshold(-torch::rand({100})).has_value());
  EXPECT_FALSE(act.fit_threshold(torch::empty({0})).has_value());
  torch::Tensor bad = torch::rand({100});
  bad[7] = NAN;
  EXPECT_THROW(act.fit_threshold(bad), std::domain_error);
}

}  // namespace
}  // namespace apot::qat
