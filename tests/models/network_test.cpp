// Every architecture builds, runs forward at the quantised precisions, and has exactly the parameters
// the core's network spec counts (the cost model's description of the same network).
#include <gtest/gtest.h>

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

TEST(Network, EveryArchitectureRunsAndMatchesItsSpec) {
  for (const std::string& arch : known_architectures()) {
    const bool imagenet = arch == "resnet18" || arch == "resnet34" || arch == "resnet50";
    NetworkOptions options;
    options.in_channels = imagenet ? 3 : 1;
    options.num_classes = imagenet ? 1000 : 10;
    options.quant.weight_bits = options.quant.act_bits = 4;
    auto net = make_network(arch, options);
    net->eval();
    torch::NoGradGuard no_grad;
    const int64_t side = imagenet ? 64 : 28;
    const torch::Tensor logits = net->forward(torch::randn({2, options.in_channels, side, side}));
    EXPECT_EQ(logits.sizes(), torch::IntArrayRef({2, options.num_classes})) << arch;
    EXPECT_TRUE(torch::isfinite(logits).all().item<bool>()) << arch;
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
