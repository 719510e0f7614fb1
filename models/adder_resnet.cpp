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
  AdderBlockImpl(int64_t in_channels, int64_t planes, int64_t stride, int bits) {
    const auto adder = [bits](int64_t in, int64_t out, int64_t kernel, int64_t s, int64_t padding) {
      Adder2dOptions o{in, out, kernel, s, padding};
      o.bits = bits;
      return Adder2d(o);
    };
    conv1_ = register_module("conv1", adder(in_channels, planes, 3, stride, 1));
    bn1_ = register_module("bn1", SyncBatchNorm2d(planes));
    conv2_ = register_module("conv2", adder(planes, planes, 3, 1, 1));
    bn2_ = register_module("bn2", SyncBatchNorm2d(planes));
    if (stride != 1 || in_channels != planes) {
      downsample_ = register_module("downsample", torch::nn::Sequential(adder(in_channels, planes, 1, stride, 0), SyncBatchNorm2d(planes)));
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
    const int bits = options.quant.weight_bits;
    if (bits != options.quant.act_bits || (bits != 32 && (bits < 2 || bits > kMaxAdderBits))) {
      throw std::invalid_argument(fmt::format("{}: weights and activations share their bits (2..{} or 32), got {} and {}", arch,
                                              kMaxAdderBits, bits, options.quant.act_bits));
    }
    conv1_ = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(options.in_channels, 16, 3).padding(1).bias(false)));
    bn1_ = register_module("bn1", SyncBatchNorm2d(16));
    const int64_t n = (depth - 2) / 6;
    int64_t channels = 16;
    const int64_t widths[] = {16, 32, 64}, strides[] = {1, 2, 2};
    for (size_t s = 0; s < 3; ++s) {
      torch::nn::Sequential stage;
      for (int64_t b = 0; b < n; ++b) {
        stage->push_back(AdderBlock(channels, widths[s], b == 0 ? strides[s] : 1, bits));
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
