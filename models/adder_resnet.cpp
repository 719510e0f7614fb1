#include "models/adder_resnet.h"

#include <fmt/format.h>

#include <stdexcept>

#include "models/sync_batch_norm.h"
#include "qat/adder2d.h"

namespace apot::models {

namespace {

using qat::Adder2d;
using qat::Adder2dOptions;

class AdderBlockImpl : public torch::nn::Module {
 public:
  AdderBlockImpl(int64_t in_channels, int64_t planes, int64_t stride) {
    conv1_ = register_module("conv1", Adder2d(Adder2dOptions{in_channels, planes, 3, stride, 1}));
    bn1_ = register_module("bn1", SyncBatchNorm2d(planes));
    conv2_ = register_module("conv2", Adder2d(Adder2dOptions{planes, planes, 3, 1, 1}));
    bn2_ = register_module("bn2", SyncBatchNorm2d(planes));
    if (stride != 1 || in_channels != planes) {
      downsample_ = register_module(
          "downsample", torch::nn::Sequential(Adder2d(Adder2dOptions{in_channels, planes, 1, stride, 0}), SyncBatchNorm2d(planes)));
    }
  }

  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor out = torch::relu(bn1_->forward(conv1_->forward(x)));
    out = bn2_->forward(conv2_->forward(out));
    return torch::relu(out + (downsample_ ? downsample_->forward(x) : x));
  }

 private:
  Adder2d conv1_{nullptr}, conv2_{nullptr};
  SyncBatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::Sequential downsample_{nullptr};
};
TORCH_MODULE(AdderBlock);

class AdderResNet : public Network {
 public:
  AdderResNet(const std::string& arch, int depth, const NetworkOptions& options) : Network(arch, options) {
    if (options.quant.quantizes_weights() || options.quant.act_bits != 32) {
      throw std::invalid_argument(fmt::format("{} trains at full precision: give --bits 32 (adder networks are "
                                              "quantised after training)", arch));
    }
    conv1_ = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(options.in_channels, 16, 3).padding(1).bias(false)));
    bn1_ = register_module("bn1", SyncBatchNorm2d(16));
    const int64_t n = (depth - 2) / 6;
    int64_t channels = 16;
    const int64_t widths[] = {16, 32, 64}, strides[] = {1, 2, 2};
    for (size_t s = 0; s < 3; ++s) {
      torch::nn::Sequential stage;
      for (int64_t b = 0; b < n; ++b) {
        stage->push_back(AdderBlock(channels, widths[s], b == 0 ? strides[s] : 1));
        channels = widths[s];
      }
      stages_.push_back(register_module("layer" + std::to_string(s + 1), stage));
    }
    fc_ = register_module("fc", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, options.num_classes, 1).bias(false)));
    bn2_ = register_module("bn2", SyncBatchNorm2d(options.num_classes));
  }

  torch::Tensor forward(const torch::Tensor& x) override {
    torch::Tensor out = torch::relu(bn1_->forward(conv1_->forward(x)));
    for (auto& stage : stages_) out = stage->forward(out);
    out = torch::adaptive_avg_pool2d(out, {1, 1});
    return bn2_->forward(fc_->forward(out)).flatten(1);
  }

 private:
  torch::nn::Conv2d conv1_{nullptr}, fc_{nullptr};
  SyncBatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  std::vector<torch::nn::Sequential> stages_;
};

}  // namespace

std::shared_ptr<Network> make_adder_resnet(const std::string& arch, int depth, const NetworkOptions& options) {
  return std::make_shared<AdderResNet>(arch, depth, options);
}

}  // namespace apot::models
