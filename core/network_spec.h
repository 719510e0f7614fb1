// Architectures as flat lists of their weight layers, the input of the cost model (paper section 4.1,
// Table 1) and of anything else that walks a network without LibTorch.
//
// Only layers that multiply by weights are listed (convolutions and the classifier). Batch norm, ReLU,
// pooling and the residual additions are not layers here: batch norm is a flag on the layer it follows,
// and the others hold no weights and cost no FixOPs in the paper's accounting (docs/cost-model.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace apot {

struct LayerSpec {
  enum Kind { Conv, Linear, Adder };  // Adder: AdderNet's l1 layer (core/adder.h), shaped as a conv

  std::string name;  // state_dict prefix as torchvision / the APoT reference names it: "layer1.0.conv1"
  Kind kind = Conv;
  int in_channels = 0;
  int out_channels = 0;
  int kernel_h = 1;
  int kernel_w = 1;
  int stride = 1;
  int padding = 0;
  int groups = 1;
  int in_h = 1;
  int in_w = 1;
  int out_h = 1;
  int out_w = 1;
  bool first_or_last = false;   // kept at 8 bits by the paper (section 4.1)
  bool has_bias = false;
  bool followed_by_bn = false;  // a BatchNorm2d over out_channels follows

  int64_t weight_count() const;      // out * in / groups * kh * kw
  int64_t output_positions() const;  // out_h * out_w: how often each weight is used per image
  int64_t macs() const;              // multiply-accumulates per image
  // Learnable parameters, as torch counts them: weights, bias, and the BN's weight and bias.
  int64_t parameter_count() const;
  // BN running mean and variance: state_dict buffers, not parameters (num_batches_tracked aside).
  int64_t bn_buffer_count() const;
};

struct NetworkSpec {
  std::string arch;
  int in_channels = 0;
  int in_h = 0;
  int in_w = 0;
  int num_classes = 0;
  std::vector<LayerSpec> layers;  // in forward order

  int64_t parameter_count() const;
  int64_t macs() const;
  const LayerSpec& layer(const std::string& name) const;  // throws std::out_of_range naming it
};

// The architectures network_spec() knows, CIFAR ones first.
std::vector<std::string> known_archs();

// Builds "resnet20", "resnet32", "resnet44", "resnet56", "resnet110" (CIFAR, as the APoT reference
// builds them: 1x1-conv + BN shortcuts where the shape changes), "resnet18", "resnet34", "resnet50"
// (torchvision; ResNet-50 is v1.5, stride on the 3x3 conv) or "adder-resnet20", "adder-resnet32",
// "adder-resnet56" (AdderNet's CIFAR layout, models/adder_resnet.h: adder layers in the blocks and
// shortcuts, an ordinary first conv, and a 1x1 conv classifier without bias followed by BN). Throws std::invalid_argument for an unknown
// arch (listing the known ones) or a non-positive size.
NetworkSpec network_spec(const std::string& arch, int in_channels, int in_h, int in_w, int num_classes);

// The input and class count each arch was made for: 3x32x32 and 10 classes for the CIFAR ResNets,
// 3x224x224 and 1000 for the ImageNet ones. Throws like network_spec() for an unknown arch.
struct InputShape {
  int channels = 0;
  int h = 0;
  int w = 0;
};
InputShape default_input(const std::string& arch);
int default_classes(const std::string& arch);

}  // namespace apot
