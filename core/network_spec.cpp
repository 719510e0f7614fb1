#include "core/network_spec.h"

#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace apot {

int64_t LayerSpec::weight_count() const {
  return int64_t{out_channels} * (in_channels / groups) * kernel_h * kernel_w;
}

int64_t LayerSpec::output_positions() const { return int64_t{out_h} * out_w; }

int64_t LayerSpec::macs() const { return weight_count() * output_positions(); }

int64_t LayerSpec::parameter_count() const {
  return weight_count() + (has_bias ? out_channels : 0) + (followed_by_bn ? 2 * out_channels : 0);
}

int64_t LayerSpec::bn_buffer_count() const { return followed_by_bn ? 2 * out_channels : 0; }

int64_t NetworkSpec::parameter_count() const {
  int64_t total = 0;
  for (const LayerSpec& l : layers) total += l.parameter_count();
  return total;
}

int64_t NetworkSpec::macs() const {
  int64_t total = 0;
  for (const LayerSpec& l : layers) total += l.macs();
  return total;
}

const LayerSpec& NetworkSpec::layer(const std::string& name) const {
  for (const LayerSpec& l : layers) {
    if (l.name == name) return l;
  }
  throw std::out_of_range(fmt::format("{} has no layer '{}'", arch, name));
}

namespace {

enum class Family { CifarResNet, ImageNetResNet, AdderResNet };

struct ArchInfo {
  const char* name;
  Family family;
  int depth;
  bool cifar() const { return family != Family::ImageNetResNet; }
};

constexpr ArchInfo kArchs[] = {
    {"resnet20", Family::CifarResNet, 20},          {"resnet32", Family::CifarResNet, 32},
    {"resnet44", Family::CifarResNet, 44},          {"resnet56", Family::CifarResNet, 56},
    {"resnet110", Family::CifarResNet, 110},        {"resnet18", Family::ImageNetResNet, 18},
    {"resnet34", Family::ImageNetResNet, 34},       {"resnet50", Family::ImageNetResNet, 50},
    {"adder-resnet20", Family::AdderResNet, 20},    {"adder-resnet32", Family::AdderResNet, 32},
    {"adder-resnet56", Family::AdderResNet, 56},
};

const ArchInfo& arch_info(const std::string& arch) {
  for (const ArchInfo& a : kArchs) {
    if (arch == a.name) return a;
  }
  throw std::invalid_argument(
      fmt::format("unknown arch '{}': expected one of {}", arch, fmt::join(known_archs(), ", ")));
}

// Convolution output size (floor), as PyTorch computes it.
int conv_out(int in, int kernel, int stride, int padding) { return (in + 2 * padding - kernel) / stride + 1; }

// Walks a network forward, keeping the current feature map's shape, and appends its weight layers.
// With padding (kernel - 1) / 2 every conv and pool here maps a positive size to a positive size.
class Walk {
 public:
  explicit Walk(NetworkSpec& net) : net_(net), map_{net.in_channels, net.in_h, net.in_w} {}

  // From here on the blocks' layers (and shortcuts) are adder layers.
  void use_adder_layers() { block_kind_ = LayerSpec::Adder; }

  // A bias-free convolution followed by BN (the only kind ResNets use) on the current map, whose output
  // becomes the current map.
  void conv(const std::string& name, int out_channels, int kernel, int stride, int padding, bool first = false) {
    const LayerSpec& l = add_conv(name, map_, out_channels, kernel, stride, padding, first, first ? LayerSpec::Conv : block_kind_);
    map_ = {l.out_channels, l.out_h, l.out_w};
  }

  // Max pooling: changes the shape, holds no weights.
  void pool(int kernel, int stride, int padding) {
    map_.h = conv_out(map_.h, kernel, stride, padding);
    map_.w = conv_out(map_.w, kernel, stride, padding);
  }

  // Global average pooling, then the classifier (the last layer, with bias, no BN).
  void classifier(int num_classes) {
    LayerSpec l;
    l.name = "fc";
    l.kind = LayerSpec::Linear;
    l.in_channels = map_.c;
    l.out_channels = num_classes;
    l.first_or_last = true;
    l.has_bias = true;
    net_.layers.push_back(l);
  }

  // AdderNet's classifier: global average pooling, a bias-free 1x1 conv, BN over the logits.
  void conv_classifier(int num_classes) {
    const Map pooled{map_.c, 1, 1};
    add_conv("fc", pooled, num_classes, 1, 1, 0, /*first=*/true, LayerSpec::Conv);
    map_ = {num_classes, 1, 1};
  }

  // BasicBlock (He et al. 2016, Fig. 2 left), shared by the CIFAR and torchvision ResNets: two 3x3
  // convs, the first with the stride, and a 1x1-conv + BN shortcut where the shape changes.
  void basic_block(const std::string& prefix, int width, int stride) {
    const Map input = map_;
    conv(prefix + "conv1", width, 3, stride, 1);
    conv(prefix + "conv2", width, 3, 1, 1);
    shortcut(prefix, input, stride);
  }

  // Bottleneck (He et al. 2016, Fig. 5 right) as torchvision v1.5 builds it: 1x1, 3x3 with the
  // stride, 1x1 to 4x the width.
  void bottleneck(const std::string& prefix, int width, int stride) {
    const Map input = map_;
    conv(prefix + "conv1", width, 1, 1, 0);
    conv(prefix + "conv2", width, 3, stride, 1);
    conv(prefix + "conv3", 4 * width, 1, 1, 0);
    shortcut(prefix, input, stride);
  }

 private:
  struct Map {
    int c, h, w;
  };

  const LayerSpec& add_conv(const std::string& name, const Map& in, int out_channels, int kernel, int stride,
                            int padding, bool first, LayerSpec::Kind kind) {
    LayerSpec l;
    l.name = name;
    l.kind = kind;
    l.in_channels = in.c;
    l.out_channels = out_channels;
    l.kernel_h = l.kernel_w = kernel;
    l.stride = stride;
    l.padding = padding;
    l.in_h = in.h;
    l.in_w = in.w;
    l.out_h = conv_out(in.h, kernel, stride, padding);
    l.out_w = conv_out(in.w, kernel, stride, padding);
    l.first_or_last = first;
    l.followed_by_bn = true;
    net_.layers.push_back(l);
    return net_.layers.back();
  }

  // The residual addition needs the block's input in the main path's output shape: where they differ,
  // torchvision's downsample (1x1 conv with the block's stride, then BN) reads the block's input.
  void shortcut(const std::string& prefix, const Map& input, int stride) {
    if (stride == 1 && input.c == map_.c) return;
    add_conv(prefix + "downsample.0", input, map_.c, 1, stride, 0, false, block_kind_);
  }

  NetworkSpec& net_;
  Map map_;
  LayerSpec::Kind block_kind_ = LayerSpec::Conv;
};

// Residual stages: stage s (1-based) has blocks[s-1] blocks of `widths[s-1]`, the first of them strided
// (except in stage 1, which keeps the size).
template <typename Block>
void stages(Walk& walk, const std::vector<int>& blocks, const std::vector<int>& widths, Block block) {
  for (size_t s = 0; s < blocks.size(); ++s) {
    for (int b = 0; b < blocks[s]; ++b) {
      const int stride = (b == 0 && s > 0) ? 2 : 1;
      block(walk, fmt::format("layer{}.{}.", s + 1, b), widths[s], stride);
    }
  }
}

void cifar_resnet(Walk& walk, int depth, int num_classes, bool adder) {
  const int n = (depth - 2) / 6;
  walk.conv("conv1", 16, 3, 1, 1, /*first=*/true);
  if (adder) walk.use_adder_layers();
  stages(walk, {n, n, n}, {16, 32, 64},
         [](Walk& w, const std::string& p, int width, int stride) { w.basic_block(p, width, stride); });
  if (adder) {
    walk.conv_classifier(num_classes);
  } else {
    walk.classifier(num_classes);
  }
}

void imagenet_resnet(Walk& walk, const std::string& arch, int num_classes) {
  walk.conv("conv1", 64, 7, 2, 3, /*first=*/true);
  walk.pool(3, 2, 1);
  const std::vector<int> widths = {64, 128, 256, 512};
  if (arch == "resnet50") {
    stages(walk, {3, 4, 6, 3}, widths,
           [](Walk& w, const std::string& p, int width, int stride) { w.bottleneck(p, width, stride); });
  } else {
    const std::vector<int> blocks = arch == "resnet18" ? std::vector<int>{2, 2, 2, 2} : std::vector<int>{3, 4, 6, 3};
    stages(walk, blocks, widths,
           [](Walk& w, const std::string& p, int width, int stride) { w.basic_block(p, width, stride); });
  }
  walk.classifier(num_classes);
}

}  // namespace

std::vector<std::string> known_archs() {
  std::vector<std::string> names;
  for (const ArchInfo& a : kArchs) names.emplace_back(a.name);
  return names;
}

NetworkSpec network_spec(const std::string& arch, int in_channels, int in_h, int in_w, int num_classes) {
  const ArchInfo& info = arch_info(arch);
  if (in_channels < 1 || in_h < 1 || in_w < 1 || num_classes < 1) {
    throw std::invalid_argument(fmt::format("{}: input {}x{}x{} with {} classes: every size must be positive",
                                            arch, in_channels, in_h, in_w, num_classes));
  }
  NetworkSpec net;
  net.arch = arch;
  net.in_channels = in_channels;
  net.in_h = in_h;
  net.in_w = in_w;
  net.num_classes = num_classes;
  Walk walk(net);
  if (info.cifar()) {
    cifar_resnet(walk, info.depth, num_classes, info.family == Family::AdderResNet);
  } else {
    imagenet_resnet(walk, arch, num_classes);
  }
  return net;
}

InputShape default_input(const std::string& arch) {
  return arch_info(arch).cifar() ? InputShape{3, 32, 32} : InputShape{3, 224, 224};
}

int default_classes(const std::string& arch) { return arch_info(arch).cifar() ? 10 : 1000; }

}  // namespace apot
