// Calibration of the streams' fraction bits (deploy/export/calibrate.h): the walk is the network's own
// forward pass, it sees the largest stream value, and the bits follow from it.
#include "deploy/export/calibrate.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "data/datasets.h"
#include "models/network_layout.h"
#include "tests/deploy/export/torch_networks.h"

namespace apot::deploy {
namespace {

// The walk emits the program's streams in forward order; its logits are the network's, so it walked
// the network the exporter walks (ResNet-20, and ResNet-18 with its max pool and 1x1 shortcuts).
TEST(Calibrate, TheWalkIsTheNetworksForwardPass) {
  for (const auto& [arch, size] : {std::pair<const char*, int64_t>{"resnet20", 28}, {"resnet18", 32}}) {
    auto net = test::network(4, 1, arch, size);
    torch::manual_seed(7);
    const torch::Tensor x = torch::randn({4, 1, size, size});
    const StreamRange range = stream_range(*net, x);
    torch::NoGradGuard no_grad;
    const torch::Tensor logits = net->forward(x);
    EXPECT_LT((range.logits - logits).abs().max().item<double>(), 1e-5 * logits.abs().max().item<double>()) << arch;

    // Every stream is at most the largest, and the stem's batch-normed output is one of them.
    const models::NetworkLayout layout = models::network_layout(*net);
    const double stem = layout.stem.bn.ptr()->forward(layout.stem.conv.ptr()->forward(x)).abs().max().item<double>();
    EXPECT_GE(range.largest, stem) << arch;
    EXPECT_TRUE(std::isfinite(range.largest)) << arch;
  }
}

// Scaling the last batch norm scales the last block's streams: the range follows.
TEST(Calibrate, TheRangeFollowsTheLastBlock) {
  auto net = test::network(4);
  const torch::Tensor x = test::pixel_images(8, 3);
  const double before = stream_range(*net, x).largest;
  const models::NetworkLayout layout = models::network_layout(*net);
  {
    torch::NoGradGuard no_grad;
    auto& bn = *layout.blocks.back().path.back().bn.ptr();
    bn.weight.mul_(1000);
    bn.bias.mul_(1000);
  }
  EXPECT_GT(stream_range(*net, x).largest, 10 * before);
  EXPECT_THROW(stream_range(*net, x.reshape({8, 28 * 28})), std::invalid_argument);
  // A NaN is refused, by the first quantiser it reaches or by the range's own check.
  torch::Tensor nan = x.clone();
  nan[3][0][5][5] = std::nan("");
  try {
    stream_range(*net, nan);
    ADD_FAILURE() << "a NaN image was calibrated on";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("NaN"), std::string::npos) << e.what();
  }
}

TEST(Calibrate, FracBitsKeepTheHeadroomInInt32) {
  EXPECT_EQ(frac_bits_for(0, 4), kMaxFracBits);
  EXPECT_EQ(frac_bits_for(100, 4), 22);  // 400 x 2^22 = 1.68e9 <= 2^31 - 1 < 400 x 2^23
  EXPECT_EQ(frac_bits_for(100, 1), 24);
  EXPECT_EQ(frac_bits_for(200, 1), 23);
  EXPECT_EQ(frac_bits_for(1e12, 4), 0);
  for (const auto& [largest, headroom] : {std::pair<double, double>{std::nan(""), 4}, {-1, 4}, {1, 0.5},
                                          {std::numeric_limits<double>::infinity(), 4}}) {
    EXPECT_THROW(frac_bits_for(largest, headroom), std::invalid_argument) << largest << " " << headroom;
  }
}

// On the dataset (Debian's dataset-fashion-mnist): its shape and normalisation, and the bits of its range.
TEST(Calibrate, OnFashionMnistTrainingImages) {
  auto net = test::network(4);
  const data::ImageSet train = data::load_dataset("fashion-mnist", "", /*train=*/true);
  const Calibration c = calibrate_export(*net, "fashion-mnist", data::subset(train, 0, 150));
  EXPECT_EQ(c.images, 150u);
  EXPECT_EQ(c.options.in_channels, 1);
  EXPECT_EQ(c.options.height, 28);
  ASSERT_EQ(c.options.mean.size(), 1u);
  EXPECT_GT(c.largest, 0);
  EXPECT_EQ(c.options.frac_bits, frac_bits_for(c.largest, kCalibrationHeadroom));
  EXPECT_THROW(calibrate_export(*net, "fashion-mnist", data::subset(train, 0, 0)), std::invalid_argument);
  EXPECT_THROW(calibrate_export(*net, "cifar10", data::subset(train, 0, 10)), std::invalid_argument);
}

}  // namespace
}  // namespace apot::deploy
