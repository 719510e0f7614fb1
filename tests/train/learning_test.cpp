// A tiny 4-bit APoT network (RCF + WN weights, APoT activations) learns a synthetic task: which of four
// quadrants of an 8x8 image is bright. Chance is 25%; it must pass 90% on held-out images.
#include <chrono>

#include <gtest/gtest.h>

#include "qat/quant_layers.h"
#include "train/sgd.h"

namespace apot::train {
namespace {

struct TinyNetImpl : torch::nn::Module {
  TinyNetImpl(const qat::QuantConfig& config) {
    conv1 = register_module("conv1", qat::QuantConv2d(qat::ConvShape{1, 8, 3, 1, 1}, config.edge_config()));
    bn1 = register_module("bn1", torch::nn::BatchNorm2d(8));
    conv2 = register_module("conv2", qat::QuantConv2d(qat::ConvShape{8, 16, 3, 2, 1}, config));
    bn2 = register_module("bn2", torch::nn::BatchNorm2d(16));
    fc = register_module("fc", qat::QuantLinear(16 * 4 * 4, 4, config.edge_config()));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor h = torch::relu(bn1->forward(conv1->forward(x)));
    h = torch::relu(bn2->forward(conv2->forward(h)));
    return fc->forward(h.flatten(1));
  }
  qat::QuantConv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  qat::QuantLinear fc{nullptr};
};
TORCH_MODULE(TinyNet);

std::pair<torch::Tensor, torch::Tensor> quadrant_task(int64_t n) {
  const torch::Tensor labels = torch::randint(4, {n}, torch::kLong);
  torch::Tensor images = torch::randn({n, 1, 8, 8}) * 0.5;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t q = labels[i].item<int64_t>();
    images[i].slice(1, (q / 2) * 4, (q / 2) * 4 + 4).slice(2, (q % 2) * 4, (q % 2) * 4 + 4) += 1.0;
  }
  return {images, labels};
}

TEST(Learning, Tiny4BitApotNetworkLearnsASyntheticTask) {
  const auto start = std::chrono::steady_clock::now();
  torch::manual_seed(0);
  qat::QuantConfig config;
  config.weight_bits = config.act_bits = 4;
  config.act_alpha_init = 3.0f;  // the inputs are of order 1
  TinyNet net(config);
  std::vector<MomentumSgd::Group> groups(2);
  groups[0].lr = 0.05;
  groups[1].lr = 0.01;
  for (const auto& p : net->named_parameters()) {
    const bool alpha = p.key().find("alpha") != std::string::npos;
    groups[alpha ? 1 : 0].params.emplace_back(p.key(), p.value());
  }
  ASSERT_FALSE(groups[1].params.empty()) << "the thresholds are learned";
  MomentumSgd sgd(groups, 0.9);
  const auto [train_x, train_y] = quadrant_task(2048);
  const auto [test_x, test_y] = quadrant_task(512);
  net->train();
  for (int epoch = 0; epoch < 4; ++epoch) {
    for (int64_t b = 0; b < 2048; b += 64) {
      sgd.zero_grad();
      torch::cross_entropy_loss(net->forward(train_x.slice(0, b, b + 64)), train_y.slice(0, b, b + 64)).backward();
      sgd.step();
    }
  }
  net->eval();
  torch::NoGradGuard no_grad;
  const double accuracy = net->forward(test_x).argmax(1).eq(test_y).to(torch::kDouble).mean().item<double>();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GT(accuracy, 0.9);
  RecordProperty("accuracy", std::to_string(accuracy));
  RecordProperty("seconds", std::to_string(seconds));
}

}  // namespace
}  // namespace apot::train
