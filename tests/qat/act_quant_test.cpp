// Activation quantisers: unsigned outputs on alpha times the level set; DoReFa's clip to [0, 1].
#include <gtest/gtest.h>

#include "qat/act_quant.h"

namespace apot::qat {
namespace {

QuantConfig config_with(int bits, ActQuantizer aq) {
  QuantConfig c;
  c.weight_bits = c.act_bits = bits;
  c.act_quantizer = aq;
  return c;
}

// Every element of out / alpha is a level of the set.
void expect_on_levels(const torch::Tensor& out, const torch::Tensor& alpha, const LevelSet& set) {
  const torch::Tensor scaled = (out / alpha).reshape({-1});
  const auto values = set.values();
  const torch::Tensor levels = torch::tensor(std::vector<float>(values.begin(), values.end()));
  const torch::Tensor distance = (scaled.unsqueeze(1) - levels.unsqueeze(0)).abs().amin(1);
  EXPECT_LT(distance.max().item<float>(), 1e-5) << set.describe();
}

TEST(ActQuant, RcfPactAndLsqLieOnLevelsAndPactUsesUniform) {
  const torch::Tensor x = torch::rand({1000}) * 4 - 0.5;
  const torch::Tensor alpha = torch::tensor(2.5f);
  for (ActQuantizer q : {ActQuantizer::Rcf, ActQuantizer::Pact, ActQuantizer::Lsq}) {
    ActQuant aq(config_with(3, q));
    const torch::Tensor out = aq(x, alpha);
    expect_on_levels(out, alpha, aq.levels());
    EXPECT_GE(out.min().item<float>(), 0.0f);
    EXPECT_EQ(aq.levels().scheme(), q == ActQuantizer::Rcf ? Scheme::APoT : Scheme::Uniform);
  }
  ActQuant dorefa(config_with(3, ActQuantizer::Dorefa));
  EXPECT_FALSE(dorefa.has_alpha());
  EXPECT_LE(dorefa(x, torch::Tensor()).max().item<float>(), 1.0f);
}

}  // namespace
}  // namespace apot::qat
