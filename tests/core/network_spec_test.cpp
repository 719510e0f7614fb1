#include "core/network_spec.h"

#include <ostream>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

namespace apot {
namespace {

NetworkSpec default_spec(const std::string& arch) {
  const InputShape in = default_input(arch);
  return network_spec(arch, in.channels, in.h, in.w, default_classes(arch));
}

bool is_shortcut(const LayerSpec& l) { return l.name.find("downsample") != std::string::npos; }

// torchvision's counts (sum of p.numel() over model.parameters()) and the usual MAC counts at 224x224.
TEST(NetworkSpec, ImageNetResNetsMatchTorchvision) {
  struct Case {
    std::string arch;
    int64_t params, macs;
  };
  for (const Case& c : {Case{"resnet18", 11'689'512, 1'814'073'344}, Case{"resnet34", 21'797'672, 3'663'761'408},
                        Case{"resnet50", 25'557'032, 4'089'184'256}}) {
    const NetworkSpec net = default_spec(c.arch);
    EXPECT_EQ(net.parameter_count(), c.params) << c.arch;
    EXPECT_EQ(net.macs(), c.macs) << c.arch;
  }
  EXPECT_NEAR(default_spec("resnet18").macs() / 1e9, 1.814, 0.001);
}

// The APoT reference's ResNet-20 state_dict (../shared/testdata/reference-resnet20/res20_32bit.pt) has
// 272,474 parameters: its shortcuts are 1x1 conv + BN (layer2.0.downsample.0 16->32, layer3.0.downsample.0
// 32->64). The 269,722 often quoted for ResNet-20 ("0.27M", He et al. 2016) is the parameter-free
// zero-padding shortcut, 2,560 conv weights and 192 BN parameters fewer.
TEST(NetworkSpec, CifarResNet20MatchesTheReference) {
  const NetworkSpec net = default_spec("resnet20");
  EXPECT_EQ(net.parameter_count(), 272'474);
  int64_t shortcut_params = 0;
  for (const LayerSpec& l : net.layers) {
    if (is_shortcut(l)) shortcut_params += l.parameter_count();
  }
  EXPECT_EQ(net.parameter_count() - shortcut_params, 269'722);

  const LayerSpec& down = net.layer("layer2.0.downsample.0");
  EXPECT_EQ(down.in_channels, 16);
  EXPECT_EQ(down.out_channels, 32);
  EXPECT_EQ(down.kernel_h, 1);
  EXPECT_EQ(down.stride, 2);
  EXPECT_EQ(down.in_h, 32);
  EXPECT_EQ(down.out_h, 16);
  EXPECT_TRUE(down.followed_by_bn);
  EXPECT_EQ(net.layer("layer3.2.conv2").out_h, 8);
  const LayerSpec& fc = net.layer("fc");
  EXPECT_EQ(fc.kind, LayerSpec::Linear);
  EXPECT_EQ(fc.in_channels, 64);
  EXPECT_EQ(fc.out_channels, 10);
  EXPECT_TRUE(fc.has_bias);
  EXPECT_FALSE(fc.followed_by_bn);
}

// ResNet-N has N weight layers on its main path, shortcuts aside; only conv1 and fc are 8-bit. The
// adder ResNets' classifier is a 1x1 conv without bias, followed by BN over the logits.
TEST(NetworkSpec, DepthAndFirstLastLayers) {
  for (const std::string& arch : known_archs()) {
    const NetworkSpec net = default_spec(arch);
    const bool adder = arch.rfind("adder-", 0) == 0;
    int main_path = 0;
    for (const LayerSpec& l : net.layers) {
      main_path += is_shortcut(l) ? 0 : 1;
      EXPECT_EQ(l.first_or_last, l.name == "conv1" || l.name == "fc") << arch << " " << l.name;
      EXPECT_EQ(l.has_bias, l.name == "fc" && !adder) << arch << " " << l.name;
      EXPECT_EQ(l.kind == LayerSpec::Adder, adder && !l.first_or_last) << arch << " " << l.name;
    }
    EXPECT_EQ(main_path, std::stoi(arch.substr(arch.find("resnet") + 6))) << arch;
    EXPECT_EQ(net.layers.front().name, "conv1");
    EXPECT_EQ(net.layers.back().name, "fc");
  }
}

// "layer2.0." for layers inside a residual block, "" for conv1 and fc.
std::string block_of(const LayerSpec& l) {
  if (l.name.rfind("layer", 0) != 0) return "";
  return l.name.substr(0, l.name.find('.', l.name.find('.') + 1) + 1);
}

struct Shape {
  int c, h, w;
  bool operator==(const Shape& o) const { return c == o.c && h == o.h && w == o.w; }
};

std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.c << "x" << s.h << "x" << s.w; }

// What the next layer sees of `l`'s output: the ImageNet stem's conv1 feeds a 3x3 / 2 max pool.
Shape seen_output(const std::string& arch, const LayerSpec& l) {
  const bool pooled = l.name == "conv1" && (arch == "resnet18" || arch == "resnet34" || arch == "resnet50");
  return pooled ? Shape{l.out_channels, (l.out_h - 1) / 2 + 1, (l.out_w - 1) / 2 + 1}
                : Shape{l.out_channels, l.out_h, l.out_w};
}

// Shapes chain: a layer reads what the previous main-path layer wrote (a shortcut reads its block's
// input), and each block's residual addition gets two tensors of one shape.
TEST(NetworkSpec, ShapesChainAndResidualsAdd) {
  for (const std::string& arch : known_archs()) {
    SCOPED_TRACE(arch);
    const NetworkSpec net = default_spec(arch);
    const LayerSpec* previous = nullptr;     // last main-path layer
    const LayerSpec* block_input = nullptr;  // main-path layer before the current block
    const LayerSpec* shortcut = nullptr;
    std::string block;
    auto close_block = [&] {
      if (block.empty()) return;
      EXPECT_EQ(seen_output(arch, *previous), seen_output(arch, shortcut != nullptr ? *shortcut : *block_input))
          << block;
    };
    for (const LayerSpec& l : net.layers) {
      if (block_of(l) != block) {
        close_block();
        block = block_of(l);
        block_input = previous;
        shortcut = nullptr;
      }
      const LayerSpec* source = is_shortcut(l) ? block_input : previous;
      if (source != nullptr) {
        const Shape seen = seen_output(arch, *source);
        EXPECT_EQ(l.in_channels, seen.c) << l.name;
        if (l.name != "fc") {  // the classifier reads the globally pooled map
          EXPECT_EQ((Shape{l.in_channels, l.in_h, l.in_w}), seen) << l.name;
        }
      }
      (is_shortcut(l) ? shortcut : previous) = &l;
    }
    close_block();
  }
}

TEST(NetworkSpec, TorchvisionLayout) {
  const NetworkSpec r18 = default_spec("resnet18");
  EXPECT_EQ(r18.layers.size(), 21u);  // 17 main-path convs, 3 shortcuts, fc
  const LayerSpec& conv1 = r18.layer("conv1");
  EXPECT_EQ(conv1.kernel_h, 7);
  EXPECT_EQ(conv1.stride, 2);
  EXPECT_EQ(conv1.padding, 3);
  EXPECT_EQ(conv1.out_h, 112);
  EXPECT_EQ(r18.layer("layer1.0.conv1").in_h, 56);  // after the 3x3 / 2 max pool
  EXPECT_EQ(r18.layer("layer4.1.conv2").out_h, 7);
  EXPECT_THROW(r18.layer("layer1.0.downsample.0"), std::out_of_range);  // same shape, identity

  // v1.5 Bottleneck: the stride sits on the 3x3 conv; conv3 widens 4x; layer1 needs a shortcut.
  const NetworkSpec r50 = default_spec("resnet50");
  EXPECT_EQ(r50.layer("layer2.0.conv1").stride, 1);
  EXPECT_EQ(r50.layer("layer2.0.conv2").stride, 2);
  EXPECT_EQ(r50.layer("layer2.0.conv2").out_h, 28);
  EXPECT_EQ(r50.layer("layer4.2.conv3").out_channels, 2048);
  EXPECT_EQ(r50.layer("layer1.0.downsample.0").out_channels, 256);
  EXPECT_EQ(r50.layer("layer1.0.downsample.0").stride, 1);
  EXPECT_EQ(r50.layer("fc").in_channels, 2048);
}

TEST(NetworkSpec, OtherInputsAndClasses) {
  const NetworkSpec small = network_spec("resnet18", 1, 32, 48, 10);
  EXPECT_EQ(small.layer("conv1").in_channels, 1);
  EXPECT_EQ(small.layer("layer4.1.conv2").out_h, 1);
  EXPECT_EQ(small.layer("layer4.1.conv2").out_w, 2);
  EXPECT_EQ(small.layer("fc").out_channels, 10);
  EXPECT_EQ(small.parameter_count(), 11'689'512 - 2 * 64 * 49 - 990 * 513);
  // Output positions, not parameters, follow the input size.
  EXPECT_EQ(network_spec("resnet20", 3, 64, 64, 10).macs(), 4 * default_spec("resnet20").macs() - 3 * 640);
}

TEST(NetworkSpec, Defaults) {
  EXPECT_EQ(default_input("resnet56").h, 32);
  EXPECT_EQ(default_classes("resnet110"), 10);
  EXPECT_EQ(default_input("resnet34").w, 224);
  EXPECT_EQ(default_classes("resnet50"), 1000);
}

TEST(NetworkSpec, UnknownArchAndBadSizesThrow) {
  try {
    network_spec("resnet19", 3, 32, 32, 10);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("resnet19"), std::string::npos) << what;
    EXPECT_NE(what.find("resnet20, resnet32, resnet44, resnet56, resnet110, resnet18, resnet34, resnet50"),
              std::string::npos)
        << what;
  }
  EXPECT_THROW(default_input("vgg16"), std::invalid_argument);
  EXPECT_THROW(network_spec("resnet20", 3, 0, 32, 10), std::invalid_argument);
  EXPECT_THROW(network_spec("resnet20", 3, 32, 32, 0), std::invalid_argument);
}

}  // namespace
}  // namespace apot
