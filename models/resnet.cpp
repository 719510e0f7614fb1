#include "models/resnet.h"

#include <stdexcept>

#include "models/network_layout.h"
#include "models/sync_batch_norm.h"

namespace apot::models {

namespace {

using qat::ConvShape;
using qat::QuantConfig;
using qat::QuantConv2d;

QuantConfig full_precision(const QuantConfig& config) {
  QuantConfig fp = config;
  fp.weight_bits = 32;
  fp.act_bits = 32;
  return fp;
}

// The first and last layers: 8-bit weights (paper section 4.1), or full precision in an FP network.
QuantConfig edge_config(const QuantConfig& config) {
  return config.quantizes_edges() ? config.edge_config() : full_precision(config);
}

// BasicBlock (two 3x3 convs) or Bottleneck (1x1, 3x3 with the stride, 1x1 to 4x the width), with a
// shortcut of a quantised 1x1 conv and BN where the shape changes.
class ResidualBlockImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kBottleneckExpansion = 4;

  ResidualBlockImpl(int64_t in_channels, int64_t planes, int64_t stride, bool bottleneck, const QuantConfig& config) {
    const int64_t out_channels = bottleneck ? planes * kBottleneckExpansion : planes;
    std::vector<ConvShape> shapes;
    if (bottleneck) {
      shapes = {{in_channels, planes, 1, 1, 0}, {planes, planes, 3, stride, 1}, {planes, out_channels, 1, 1, 0}};
    } else {
      shapes = {{in_channels, planes, 3, stride, 1}, {planes, planes, 3, 1, 1}};
    }
    for (size_t i = 0; i < shapes.size(); ++i) {
      const std::string n = std::to_string(i + 1);
      convs_.push_back(register_module("conv" + n, QuantConv2d(shapes[i], config)));
      bns_.push_back(register_module("bn" + n, SyncBatchNorm2d(shapes[i].out_channels)));
    }
    if (stride != 1 || in_channels != out_channels) {
      downsample_ = register_module("downsample", torch::nn::Sequential(QuantConv2d(ConvShape{in_channels, out_channels, 1, stride, 0}, config),
                                                                        SyncBatchNorm2d(out_channels)));
    }
  }

  ResidualBlockLayout layout(const std::string& prefix) const {
    ResidualBlockLayout block;
    for (size_t i = 0; i < convs_.size(); ++i) block.path.push_back({prefix + ".conv" + std::to_string(i + 1), convs_[i], bns_[i]});
    if (downsample_) {
      block.shortcut = ConvBn{prefix + ".downsample.0",
                              QuantConv2d(std::dynamic_pointer_cast<qat::QuantConv2dImpl>(downsample_->ptr(0))),
                              SyncBatchNorm2d(std::dynamic_pointer_cast<SyncBatchNorm2dImpl>(downsample_->ptr(1)))};
    }
    return block;
  }

  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor out = x;
    for (size_t i = 0; i < convs_.size(); ++i) {
      out = bns_[i]->forward(convs_[i]->forward(out));
      if (i + 1 < convs_.size()) out = torch::relu(out);
    }
    out = out + (downsample_ ? downsample_->forward(x) : x);
    return torch::relu(out);
  }

 private:
  std::vector<QuantConv2d> convs_;
  std::vector<SyncBatchNorm2d> bns_;
  torch::nn::Sequential downsample_{nullptr};
};
TORCH_MODULE(ResidualBlock);

struct ResNetLayout {
  int64_t stem_width = 16, stem_kernel = 3, stem_stride = 1;
  bool stem_maxpool = false;
  std::vector<int64_t> widths, blocks, strides;
  bool bottleneck = false;
};

class ResNet : public Network {
 public:
  ResNet(const std::string& arch, const NetworkOptions& options, const ResNetLayout& layout) : Network(arch, options) {
    const QuantConfig& config = options.quant;
    conv1_ = register_module("conv1", QuantConv2d(ConvShape{options.in_channels, layout.stem_width, layout.stem_kernel,
                                                            layout.stem_stride, layout.stem_kernel / 2},
                                                  edge_config(config)));
    bn1_ = register_module("bn1", SyncBatchNorm2d(layout.stem_width));
    maxpool_ = layout.stem_maxpool;
    int64_t channels = layout.stem_width;
    for (size_t s = 0; s < layout.widths.size(); ++s) {
      torch::nn::Sequential stage;
      for (int64_t b = 0; b < layout.blocks[s]; ++b) {
        stage->push_back(ResidualBlock(channels, layout.widths[s], b == 0 ? layout.strides[s] : 1, layout.bottleneck, config));
        channels = layout.bottleneck ? layout.widths[s] * ResidualBlockImpl::kBottleneckExpansion : layout.widths[s];
      }
      stages_.push_back(register_module("layer" + std::to_string(s + 1), stage));
    }
    fc_ = register_module("fc", qat::QuantLinear(channels, options.num_classes, edge_config(config)));
  }

  torch::Tensor forward(const torch::Tensor& x) override {
    torch::Tensor out = torch::relu(bn1_->forward(conv1_->forward(x)));
    if (maxpool_) out = torch::max_pool2d(out, 3, 2, 1);
    for (auto& stage : stages_) out = stage->forward(out);
    out = torch::adaptive_avg_pool2d(out, {1, 1}).flatten(1);
    return fc_->forward(out);
  }

  NetworkLayout layout() const {
    NetworkLayout net;
    net.stem = {"conv1", conv1_, bn1_};
    net.stem_maxpool = maxpool_;
    for (size_t s = 0; s < stages_.size(); ++s) {
      for (size_t b = 0; b < stages_[s]->size(); ++b) {
        const std::string prefix = "layer" + std::to_string(s + 1) + "." + std::to_string(b);
        net.blocks.push_back(stages_[s]->ptr(b)->as<ResidualBlockImpl>()->layout(prefix));
      }
    }
    net.fc_name = "fc";
    net.fc = fc_;
    return net;
  }

 private:
  QuantConv2d conv1_{nullptr};
  SyncBatchNorm2d bn1_{nullptr};
  bool maxpool_ = false;
  std::vector<torch::nn::Sequential> stages_;
  qat::QuantLinear fc_{nullptr};
};

}  // namespace

NetworkLayout network_layout(Network& net) {
  const auto* resnet = dynamic_cast<const ResNet*>(&net);
  if (!resnet) {
    throw std::invalid_argument("'" + net.arch() + "' has no layout of quantised convolutions: the integer engine runs the "
                                "quantised ResNets");
  }
  return resnet->layout();
}

std::shared_ptr<Network> make_cifar_resnet(const std::string& arch, int depth, const NetworkOptions& options) {
  const int64_t n = (depth - 2) / 6;
  ResNetLayout layout;
  layout.widths = {16, 32, 64};
  layout.blocks = {n, n, n};
  layout.strides = {1, 2, 2};
  return std::make_shared<ResNet>(arch, options, layout);
}

std::shared_ptr<Network> make_imagenet_resnet(const std::string& arch, const std::vector<int64_t>& blocks,
                                              bool bottleneck, const NetworkOptions& options) {
  ResNetLayout layout;
  layout.stem_width = 64;
  layout.stem_kernel = 7;
  layout.stem_stride = 2;
  layout.stem_maxpool = true;
  layout.widths = {64, 128, 256, 512};
  layout.blocks = blocks;
  layout.strides = {1, 2, 2, 2};
  layout.bottleneck = bottleneck;
  return std::make_shared<ResNet>(arch, options, layout);
}

}  // namespace apot::models
