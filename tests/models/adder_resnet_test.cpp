// The adder ResNets: the official code's state_dict names and shapes, a forward pass, a few training steps
// that fit a batch, and what they refuse.
#include <gtest/gtest.h>

#include <map>
#include <stdexcept>

#include "models/network.h"
#include "models/network_layout.h"
#include "qat/adder2d.h"

namespace apot::models {
namespace {

NetworkOptions full_precision(int64_t in_channels = 3) {
  NetworkOptions o;
  o.in_channels = in_channels;
  o.quant.weight_bits = o.quant.act_bits = 32;
  return o;
}

TEST(AdderResNet, StateDictNamesAreTheOfficialCodes) {
  auto net = make_network("adder-resnet20", full_precision());
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& p : net->named_parameters()) shapes[p.key()] = p.value().sizes().vec();
  for (const auto& b : net->named_buffers()) shapes[b.key()] = b.value().sizes().vec();
  EXPECT_EQ(shapes.at("conv1.weight"), (std::vector<int64_t>{16, 3, 3, 3}));
  EXPECT_EQ(shapes.at("layer1.0.conv1.adder"), (std::vector<int64_t>{16, 16, 3, 3}));
  EXPECT_EQ(shapes.at("layer2.0.conv1.adder"), (std::vector<int64_t>{32, 16, 3, 3}));
  EXPECT_EQ(shapes.at("layer2.0.downsample.0.adder"), (std::vector<int64_t>{32, 16, 1, 1}));
  EXPECT_EQ(shapes.at("layer3.2.bn2.running_var"), (std::vector<int64_t>{64}));
  EXPECT_EQ(shapes.at("fc.weight"), (std::vector<int64_t>{10, 64, 1, 1}));
  EXPECT_EQ(shapes.at("bn2.weight"), (std::vector<int64_t>{10}));
  int adders = 0;
  for (const auto& m : net->modules(false)) adders += std::dynamic_pointer_cast<qat::Adder2dImpl>(m) != nullptr;
  EXPECT_EQ(adders, 20);  // 18 3x3 layers, 2 shortcuts
  EXPECT_EQ(shapes.count("fc.bias"), 0u);
}

TEST(AdderResNet, AFewStepsFitABatch) {
  torch::manual_seed(1);
  auto net = make_network("adder-resnet20", full_precision(1));
  const torch::Tensor x = torch::randn({16, 1, 16, 16});
  const torch::Tensor y = torch::randint(10, {16}, torch::kLong);
  net->train();
  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  double first = 0, last = 0;
  for (int step = 0; step < 30; ++step) {
    sgd.zero_grad();
    const torch::Tensor loss = torch::cross_entropy_loss(net->forward(x), y);
    loss.backward();
    sgd.step();
    (step == 0 ? first : last) = loss.item<double>();
  }
  EXPECT_LT(last, 0.5 * first) << first << " -> " << last;
  net->eval();
  EXPECT_EQ(net->forward(x).sizes(), (std::vector<int64_t>{16, 10}));
}

TEST(AdderResNet, QuantisedAdderLayersAtTheNetworksBitsAndNoExportYet) {
  NetworkOptions four_bit;
  four_bit.quant.weight_bits = four_bit.quant.act_bits = 4;
  auto quantised = make_network("adder-resnet32", four_bit);
  int adders = 0;
  for (const auto& m : quantised->modules(false)) {
    if (auto adder = std::dynamic_pointer_cast<qat::Adder2dImpl>(m)) {
      EXPECT_EQ(adder->options().bits, 4);
      ++adders;
    }
  }
  EXPECT_EQ(adders, 32);  // 30 3x3 layers, 2 shortcuts
  EXPECT_TRUE(std::dynamic_pointer_cast<torch::nn::Conv2dImpl>(quantised->named_modules()["conv1"]));  // stays in float
  NetworkOptions mixed = four_bit;
  mixed.quant.act_bits = 8;
  try {
    make_network("adder-resnet32", mixed);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "adder-resnet32: weights and activations share their bits (2..15 or 32), got 4 and 8");
  }
  auto net = make_network("adder-resnet56", full_precision());
  EXPECT_THROW(network_layout(*net), std::invalid_argument);
}

}  // namespace
}  // namespace apot::models
