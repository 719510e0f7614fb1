// The LibTorch adder layer against the official layer's formulas written in ATen (unfold and broadcast,
// as huawei-noah/AdderNet computes them): forward, AdderNet's two gradients and the adaptive scaling,
// the bias, the same bits at every thread count, and bad inputs.
#include "qat/adder2d.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

namespace apot::qat {
namespace {

namespace F = torch::nn::functional;

struct Official {
  torch::Tensor y, grad_x, grad_w;
};

// The official layer's arithmetic, in double: X_col = unfold(x), out = -|W_col - X_col| summed over the
// taps; grad_W_col = sum over positions of (X_col - W_col) g, scaled by eta sqrt(k) / ||.||; grad_X_col
// = sum over output channels of clamp(W_col - X_col, -1, 1) g, folded back.
Official official(const torch::Tensor& x_in, const torch::Tensor& w_in, const torch::Tensor& g_in, int64_t stride,
                  int64_t padding, double eta) {
  const torch::Tensor x = x_in.to(torch::kDouble), w = w_in.to(torch::kDouble), g = g_in.to(torch::kDouble);
  const int64_t n = x.size(0), out = w.size(0), k = w.size(2);
  const torch::Tensor cols = F::unfold(x, F::UnfoldFuncOptions(k).padding(padding).stride(stride));  // N x K x L
  const torch::Tensor w_col = w.reshape({out, -1});                                                  // T x K
  const torch::Tensor diff = cols.unsqueeze(1) - w_col.unsqueeze(0).unsqueeze(3);                    // N x T x K x L
  const int64_t oh = g.size(2), ow = g.size(3);
  const torch::Tensor g_col = g.reshape({n, out, 1, oh * ow});
  Official o;
  o.y = -diff.abs().sum(2).reshape({n, out, oh, ow});
  torch::Tensor grad_w = (diff * g_col).sum(at::IntArrayRef{0, 3}).reshape(w.sizes());
  o.grad_w = grad_w / std::max(grad_w.norm().item<double>(), 1e-12) * std::sqrt(static_cast<double>(w.numel())) * eta;
  const torch::Tensor grad_cols = ((-diff).clamp(-1, 1) * g_col).sum(1);  // N x K x L
  o.grad_x = F::fold(grad_cols, F::FoldFuncOptions({x.size(2), x.size(3)}, k).padding(padding).stride(stride));
  return o;
}

struct Shape {
  int64_t batch, in, size, out, kernel, stride, padding;
};

TEST(Adder2d, MatchesTheOfficialLayersArithmetic) {
  for (const Shape& c : {Shape{4, 16, 8, 16, 3, 1, 1}, Shape{3, 16, 9, 32, 3, 2, 1}, Shape{2, 16, 8, 32, 1, 2, 0},
                         Shape{2, 3, 5, 7, 3, 1, 0}}) {
    SCOPED_TRACE(testing::Message() << c.batch << "x" << c.in << "x" << c.size << " -> " << c.out << " k" << c.kernel
                                    << " s" << c.stride << " p" << c.padding);
    torch::manual_seed(5);
    Adder2d layer(Adder2dOptions{c.in, c.out, c.kernel, c.stride, c.padding});
    const torch::Tensor x = torch::randn({c.batch, c.in, c.size, c.size}).requires_grad_();
    const torch::Tensor y = layer->forward(x);
    const torch::Tensor g = torch::randn(y.sizes());
    y.backward(g);
    const Official o = official(x.detach(), layer->adder.detach(), g, c.stride, c.padding, 0.2);
    EXPECT_TRUE(torch::allclose(y.to(torch::kDouble), o.y, 1e-5, 1e-4)) << (y - o.y).abs().max();
    EXPECT_TRUE(torch::allclose(x.grad().to(torch::kDouble), o.grad_x, 1e-5, 1e-4)) << (x.grad() - o.grad_x).abs().max();
    EXPECT_TRUE(torch::allclose(layer->adder.grad().to(torch::kDouble), o.grad_w, 1e-5, 1e-6))
        << (layer->adder.grad() - o.grad_w).abs().max();
    // The adaptive scaling: the layer's gradient has norm eta sqrt(k).
    EXPECT_NEAR(layer->adder.grad().norm().item<double>(), 0.2 * std::sqrt(static_cast<double>(layer->adder.numel())), 1e-3);
  }
}

TEST(Adder2d, BiasAndTheParameterNamesOfTheOfficialCode) {
  torch::manual_seed(6);
  Adder2d layer(Adder2dOptions{2, 3, 3, 1, 1, /*bias=*/true});
  const auto names = layer->named_parameters().keys();
  EXPECT_EQ(names, (std::vector<std::string>{"adder", "b"}));
  const torch::Tensor x = torch::randn({2, 2, 4, 4});
  const torch::Tensor y = layer->forward(x);
  const torch::Tensor g = torch::randn(y.sizes());
  y.backward(g);
  EXPECT_TRUE(torch::allclose(layer->b.grad(), g.sum(at::IntArrayRef{0, 2, 3})));
  Adder2d plain(Adder2dOptions{2, 3, 3, 1, 1});
  EXPECT_EQ(plain->named_parameters().keys(), std::vector<std::string>{"adder"});
}

TEST(Adder2d, TheSameBitsAtEveryThreadCount) {
  torch::manual_seed(7);
  Adder2d layer(Adder2dOptions{8, 12, 3, 1, 1});
  const torch::Tensor x0 = torch::randn({6, 8, 10, 10});
  const torch::Tensor g = torch::randn({6, 12, 10, 10});
  std::vector<torch::Tensor> results;
  const int threads_before = torch::get_num_threads();
  for (int threads : {1, 2, 3}) {
    torch::set_num_threads(threads);
    layer->zero_grad();
    const torch::Tensor x = x0.clone().requires_grad_();
    layer->forward(x).backward(g);
    results.push_back(torch::cat({layer->forward(x0).detach().reshape(-1), x.grad().reshape(-1), layer->adder.grad().reshape(-1)}));
  }
  torch::set_num_threads(threads_before);
  EXPECT_TRUE(torch::equal(results[0], results[1]));
  EXPECT_TRUE(torch::equal(results[0], results[2]));
}

TEST(Adder2d, BadInputsAreNamed) {
  Adder2d layer(Adder2dOptions{3, 4, 3, 1, 1});
  const auto message = [&](const torch::Tensor& x) {
    try {
      layer->forward(x);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(torch::randn({2, 5, 8, 8})), "adder: expected N x 3 x H x W input, got 4 dimensions with 5 channels");
  EXPECT_EQ(message(torch::randn({3, 8, 8})), "adder: expected N x 3 x H x W input, got 3 dimensions");
  EXPECT_EQ(message(torch::randn({2, 3, 8, 8}, torch::kDouble)), "adder: expected a float32 CPU tensor, got Double on cpu");
  EXPECT_THROW(Adder2d(Adder2dOptions{3, 4, 0}), std::invalid_argument);
}

Adder2d quantised_layer(int bits, int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding) {
  Adder2dOptions o{in, out, kernel, stride, padding};
  o.bits = bits;
  return Adder2d(o);
}

// The quantised layer against its definition, in double: per output channel t of group g with scale s,
// y = -(s / (2^b - 1)) sum |a - 2 q| + bias_t, a and 2 q the codes of the (padded) input and the weights.
TEST(Adder2d, QuantisedForwardIsTheIntegerSumTimesTheGroupStep) {
  for (int bits : {4, 8}) {
    SCOPED_TRACE(bits);
    torch::manual_seed(8);
    Adder2d layer = quantised_layer(bits, 5, 6, 3, 2, 1);
    const torch::Tensor x = torch::rand({3, 5, 7, 7}) * 2;  // inside the input range
    {
      torch::NoGradGuard no_grad;
      layer->adder.mul_(2);
    }
    const torch::Tensor w = layer->adder.detach().contiguous();
    const AdderLayerQuant q = plan_adder_quant(w.data_ptr<float>(), 6, 45, 2.0f, bits, AdderPtqMethod::Redistribution, 3, 1);
    ASSERT_EQ(q.groups(), 3);
    layer->set_quantization(q);
    torch::NoGradGuard no_grad;
    const torch::Tensor y = layer->forward(x);
    const torch::Tensor padded = F::pad(x, F::PadFuncOptions({1, 1, 1, 1}));
    ASSERT_EQ(y.sizes(), (std::vector<int64_t>{3, 6, 4, 4}));
    double worst = 0;
    for (int64_t t = 0; t < 6; ++t) {
      const float s = q.group_scale[static_cast<size_t>(q.group[static_cast<size_t>(t)])];
      for (int64_t n = 0; n < 3; ++n) {
        for (int64_t i = 0; i < 4; ++i) {
          for (int64_t j = 0; j < 4; ++j) {
            int64_t sum = 0;
            for (int64_t c = 0; c < 5; ++c) {
              for (int64_t u = 0; u < 3; ++u) {
                for (int64_t v = 0; v < 3; ++v) {
                  const int32_t a = adder_act_code(padded[n][c][2 * i + u][2 * j + v].item<float>(), s, bits);
                  sum += std::abs(a - adder_weight_code(w[t][c][u][v].item<float>(), s, bits));
                }
              }
            }
            const double expected = -static_cast<double>(s) / q.levels() * static_cast<double>(sum) + q.bias[static_cast<size_t>(t)];
            worst = std::max(worst, std::abs(y[n][t][i][j].item<double>() - expected) / std::max(1.0, std::abs(expected)));
          }
        }
      }
    }
    EXPECT_LT(worst, 1e-6);
    // And it approximates the float layer: the clamp is lossless, the rest is rounding of the grid.
    layer->observe_inputs(1.0);
    const torch::Tensor full = layer->forward(x);
    EXPECT_EQ(layer->stop_observing(), x.abs().max().item<float>());
    const double error = ((y - full).abs().mean() / full.abs().mean()).item<double>();
    EXPECT_LT(error, bits == 8 ? 0.01 : 0.15) << "relative error of the quantised output";
  }
}

TEST(Adder2d, QuantisationRoundTripsThroughItsBuffers) {
  Adder2d layer = quantised_layer(6, 2, 4, 1, 1, 0);
  EXPECT_EQ(layer->named_buffers().keys(), (std::vector<std::string>{"act_range", "bias_list", "kernel_group", "group_scale"}));
  AdderLayerQuant q;
  q.bits = 6;
  q.input_range = 1.5f;
  q.group = {1, 0, 1, 0};
  q.group_scale = {0.5f, 1.5f};
  q.bias = {-1, 0, -2, 0};
  layer->set_quantization(q);
  const AdderLayerQuant back = layer->quantization();
  EXPECT_EQ(back.group, q.group);
  EXPECT_EQ(back.group_scale, q.group_scale);
  EXPECT_EQ(back.bias, q.bias);
  EXPECT_EQ(back.input_range, q.input_range);
  q.bits = 5;
  EXPECT_THROW(layer->set_quantization(q), std::invalid_argument);
  EXPECT_THROW(quantised_layer(1, 2, 4, 1, 1, 0), std::invalid_argument);
  EXPECT_THROW(Adder2d(Adder2dOptions{2, 4, 1})->quantization(), std::invalid_argument);
  // Two scales in one group: a file edited by hand, or another tool's.
  layer->group_scale[0] = 3.0f;
  EXPECT_THROW(layer->quantization(), std::invalid_argument);
}

TEST(Adder2d, AQuantisedLayerRefusesToTrain) {
  Adder2d layer = quantised_layer(4, 2, 4, 3, 1, 1);
  try {
    layer->forward(torch::rand({1, 2, 5, 5}));
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(std::string(e.what()), testing::HasSubstr("does not train"));
  }
}

}  // namespace
}  // namespace apot::qat
