// Adder ResNets (Chen et al., CVPR 2020), in the official code's CIFAR layout (huawei-noah/AdderNet,
// resnet20.py): an ordinary 3x3 conv to 16 channels with BN and ReLU; three stages of BasicBlocks whose two
// 3x3 layers are adder layers (qat/adder2d.h), each followed by BN, with a 1x1 adder + BN shortcut where the
// shape changes; global average pooling; a 1x1 conv classifier without bias, then BN over the logits.
// State_dict names as the official code's (conv1, bn1, layerS.B.conv1.adder, ..., fc.weight, bn2).
// Trained at full precision; with --bits B (weights and activations alike) every adder layer is
// post-training quantised to B bits (train/adder_ptq.h), the first conv and the classifier stay in float
// as in the official code. Internal to models/: use make_network().
#pragma once

#include "models/network.h"

namespace apot::models {

// Adder ResNet-(6n+2) for depth 20, 32, 56, ...; any input channels and size.
std::shared_ptr<Network> make_adder_resnet(const std::string& arch, int depth, const NetworkOptions& options);

}  // namespace apot::models
