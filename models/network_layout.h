// The modules of a network in forward order, with their state_dict prefixes: what the exporter walks to
// turn a trained network into the integer engine's program (deploy/export).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "models/network.h"
#include "models/sync_batch_norm.h"

namespace apot::models {

// A convolution and the batch norm that follows it.
struct ConvBn {
  std::string name;  // the conv's state_dict prefix, e.g. "layer1.0.conv1"
  qat::QuantConv2d conv{nullptr};
  SyncBatchNorm2d bn{nullptr};
};

// out = relu(path(x) + shortcut(x)); ReLU between the path's convolutions; an identity shortcut when
// there is no shortcut conv.
struct ResidualBlockLayout {
  std::vector<ConvBn> path;
  std::optional<ConvBn> shortcut;
};

// stem conv, BN, ReLU, [3x3 stride-2 max pool], blocks, global average pool, fc.
struct NetworkLayout {
  ConvBn stem;
  bool stem_maxpool = false;
  std::vector<ResidualBlockLayout> blocks;
  std::string fc_name;
  qat::QuantLinear fc{nullptr};
};

// Throws std::invalid_argument for a network that make_network did not build.
NetworkLayout network_layout(Network& net);

}  // namespace apot::models
