// The Normalization piece: the paper's and the reference's weight normalisation (Eq. 9), DoReFa's tanh.
#include <gtest/gtest.h>

#include "qat/normalization.h"

namespace apot::qat {
namespace {

TEST(Normalization, WeightNormIsEq9OrTheReferences) {
  const torch::Tensor w = torch::randn({16, 8, 3, 3}) * 0.05 + 0.01;
  QuantConfig paper;
  QuantConfig reference;
  reference.reference_compat = true;
  const torch::Tensor mean = w.mean();
  EXPECT_TRUE(normalize(Normalization::WeightNorm, w, paper).allclose((w - mean) / (w.std(false) + 1e-5)));
  EXPECT_TRUE(normalize(Normalization::WeightNorm, w, reference).allclose((w - mean) / w.std(true)));
  // The paper's statistics carry gradients; the reference's are constants.
  torch::Tensor wg = w.clone().requires_grad_(true);
  normalize(Normalization::WeightNorm, wg, paper).sum().backward();
  EXPECT_LT(wg.grad().abs().max().item<float>(), 1e-3);  // the mean's gradient cancels the sum's
  torch::Tensor wr = w.clone().requires_grad_(true);
  normalize(Normalization::WeightNorm, wr, reference).sum().backward();
  EXPECT_NEAR(wr.grad()[0][0][0][0].item<float>(), 1.0 / w.std(true).item<double>(), 1e-3);
}

TEST(Normalization, TanhMapsIntoTheUnitIntervalAndBackOntoMinusOneOne) {
  const torch::Tensor w = torch::randn({4, 100});
  const torch::Tensor unit = normalize(Normalization::Tanh, w, QuantConfig{});
  EXPECT_GE(unit.min().item<float>(), 0.0f);
  EXPECT_LE(unit.max().item<float>(), 1.0f);
  EXPECT_FLOAT_EQ((unit - 0.5).abs().max().item<float>(), 0.5f);  // the largest |tanh w| reaches an end
  EXPECT_TRUE(denormalize(Normalization::Tanh, unit).equal(2 * unit - 1));
}

TEST(Normalization, NoneKeepsTheTensor) {
  const torch::Tensor w = torch::randn({3, 5});
  EXPECT_TRUE(normalize(Normalization::None, w, QuantConfig{}).equal(w));
  EXPECT_TRUE(denormalize(Normalization::None, w).equal(w));
  EXPECT_TRUE(denormalize(Normalization::WeightNorm, w).equal(w));
}

}  // namespace
}  // namespace apot::qat
