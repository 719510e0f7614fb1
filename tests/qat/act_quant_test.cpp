// Activation quantisers: every row of the table on alpha times its unsigned levels, with its gradients.
#include <gtest/gtest.h>

#include "qat/act_quant.h"

namespace apot::qat {
namespace {

TEST(ActQuant, EveryQuantiserLiesOnItsUnsignedLevelsAndPassesGradients) {
  const torch::Tensor x = (torch::rand({4, 250}) * 4 - 0.5).requires_grad_(true);
  for (const auto& r : kActQuantizers) {
    QuantConfig c;
    c.weight_bits = c.act_bits = 3;
    c.act_quantizer = r.id;
    const ActQuant aq(c);
    EXPECT_EQ(aq.has_alpha(), is_learned(r.pieces.threshold)) << r.name;
    EXPECT_EQ(aq.levels().scheme(), r.pieces.levels == Levels::Scheme ? Scheme::APoT : Scheme::Uniform) << r.name;
    torch::Tensor alpha = torch::tensor(2.5f).requires_grad_(true);
    const torch::Tensor out = aq(x, aq.has_alpha() ? alpha : torch::Tensor());
    const float used = aq.has_alpha() ? 2.5f : 1.0f;  // DoReFa clips to [0, 1]
    const auto values = aq.levels().values();
    const torch::Tensor levels = torch::tensor(std::vector<float>(values.begin(), values.end())) * used;
    EXPECT_LT((out.detach().reshape({-1, 1}) - levels.unsqueeze(0)).abs().amin(1).max().item<float>(), 1e-5) << r.name;
    EXPECT_GE(out.min().item<float>(), 0.0f) << r.name;
    out.sum().backward();
    EXPECT_EQ(alpha.grad().defined(), aq.has_alpha()) << r.name;
    x.mutable_grad() = torch::Tensor();
  }
}

}  // namespace
}  // namespace apot::qat
