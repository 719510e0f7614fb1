// ResNets (He et al. 2016) with quantised convolutions: the CIFAR family of the reference
// implementation and torchvision's ImageNet family. Internal to models/: use make_network().
#pragma once

#include "models/network.h"

namespace apot::models {

// CIFAR ResNet-(6n+2): a 3x3 conv to 16 channels, three stages of n BasicBlocks with 16, 32, 64
// channels (strides 1, 2, 2), quantised 1x1-conv shortcuts where the shape changes, global average
// pooling, fc. Any input channels and size (global pooling replaces the reference's AvgPool2d(8),
// the same thing at 32x32).
std::shared_ptr<Network> make_cifar_resnet(const std::string& arch, int depth, const NetworkOptions& options);

// torchvision's ResNet-18/34 (BasicBlock) and ResNet-50 (Bottleneck, stride on the 3x3 conv).
std::shared_ptr<Network> make_imagenet_resnet(const std::string& arch, const std::vector<int64_t>& blocks,
                                              bool bottleneck, const NetworkOptions& options);

}  // namespace apot::models
