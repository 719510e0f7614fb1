// Every architecture builds, runs forward at a precision it trains at, and has exactly the parameters the
// core's network spec counts (the cost model's description of the same network) where it has one.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/network_spec.h"
#include "models/network.h"

namespace apot::models {
namespace {

int64_t weights_and_bn(const Network& net) {
  int64_t count = 0;
  for (const auto& p : net.named_parameters()) {
    const std::string& name = p.key();
    if (name.find("alpha") == std::string::npos) count += p.value().numel();
  }
  return count;
}

// Every architecture runs and has the parameter count of its spec (core/network_spec.h), which the cost
// model walks.
TEST(Network, EveryArchitectureRunsAndMatchesItsSpec) {
  const std::vector<std::string> specs = known_archs();
  for (const std::string& arch : known_architectures()) {
    const bool imagenet = arch == "resnet18" || arch == "resnet34" || arch == "resnet50";
    const bool adder = arch.rfind("adder-", 0) == 0;
    NetworkOptions options;
    options.in_channels = imagenet ? 3 : 1;
    options.num_classes = imagenet ? 1000 : 10;
    options.quant.weight_bits = options.quant.act_bits = adder ? 32 : 4;  // adder networks train at full precision
    auto net = make_network(arch, options);
    net->eval();
    torch::NoGradGuard no_grad;
    const int64_t side = imagenet ? 64 : 28;
    const torch::Tensor logits = net->forward(torch::randn({2, options.in_channels, side, side}));
    EXPECT_EQ(logits.sizes(), torch::IntArrayRef({2, options.num_classes})) << arch;
    EXPECT_TRUE(torch::isfinite(logits).all().item<bool>()) << arch;
    ASSERT_NE(std::find(specs.begin(), specs.end(), arch), specs.end()) << arch << " has no spec";
    const NetworkSpec spec = network_spec(arch, static_cast<int>(options.in_channels), static_cast<int>(side),
                                          static_cast<int>(side), static_cast<int>(options.num_classes));
    EXPECT_EQ(weights_and_bn(*net), static_cast<int64_t>(spec.parameter_count())) << arch;
  }
}

TEST(Network, UnknownArchitectureListsTheKnownOnes) {
  try {
    make_network("resnet19", NetworkOptions{});
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("resnet20"), std::string::npos);
  }
}

}  // namespace
}  // namespace apot::models

namespace apot::models {
namespace {

std::vector<float> alphas_of(Network& net) {
  std::vector<float> values;
  for (const auto& p : net.named_parameters()) {
    if (p.key().find("alpha") == std::string::npos) continue;
    const torch::Tensor t = p.value().detach().reshape({-1});
    values.insert(values.end(), t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
  }
  return values;
}

TEST(Network, FitThresholdsCalibratesEveryLearnedThresholdAndKeepsTheBatchNormStatistics) {
  NetworkOptions options;
  options.in_channels = 1;
  options.quant.weight_bits = options.quant.act_bits = 2;
  torch::manual_seed(4);
  auto net = make_network("resnet20", options);
  net->train();
  std::vector<torch::Tensor> stats_before;
  for (const auto& b : net->named_buffers()) stats_before.push_back(b.value().clone());
  const torch::Tensor batch = torch::randn({16, 1, 28, 28});

  const std::vector<std::string> fitted = net->fit_thresholds(batch);
  size_t learned = 0;
  for (const auto& p : net->named_parameters()) {
    if (p.key().find("alpha") == std::string::npos) continue;
    ++learned;
    EXPECT_NE(std::find(fitted.begin(), fitted.end(), p.key()), fitted.end()) << p.key() << " was not fitted";
    const float init = p.key().find("act_alpha") != std::string::npos ? 8.0f : 3.0f;
    EXPECT_NE(p.value().item<float>(), init) << p.key();
  }
  EXPECT_EQ(fitted.size(), learned);
  EXPECT_GT(learned, 30u);
  // The mode is as it was, and so are the batch norm statistics.
  EXPECT_TRUE(net->is_training());
  size_t i = 0;
  for (const auto& b : net->named_buffers()) EXPECT_TRUE(b.value().equal(stats_before[i++])) << b.key();

  // Calibration ends with the call: a forward leaves the thresholds alone. Layer by layer, each fitted
  // to inputs its predecessors quantise with their fitted thresholds, so a second fit changes nothing.
  const std::vector<float> after = alphas_of(*net);
  {
    torch::NoGradGuard no_grad;
    net->forward(batch);
  }
  EXPECT_EQ(alphas_of(*net), after);
  net->eval();
  net->fit_thresholds(batch);
  EXPECT_EQ(alphas_of(*net), after);
  EXPECT_FALSE(net->is_training());
}

}  // namespace
}  // namespace apot::models
