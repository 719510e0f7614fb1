// The fake-quant network's forward pass, walked op by op in the order the exporter emits the integer
// program (deploy/export/export.h): at each op, what the network holds where the engine holds that op's
// output buffer. Calibration takes the streams' range from it; the trace holds the engine to it.
#pragma once

#include <functional>
#include <string>

#include <torch/torch.h>

#include "models/network.h"

namespace apot::deploy {

struct ProgramPoint {
  enum class Kind { Codes, Stream, Logits };
  Kind kind = Kind::Stream;
  std::string name;  // the layer, e.g. "layer1.0.conv1"; "maxpool" for the stem's pool
  // Codes: the activation quantiser's output (alpha x level, as the layer's convolution multiplies it).
  // Stream: a convolution's batch-normed output, plus its residual, then its ReLU, as the engine's
  // stream holds it; a max pool's output. Logits: the fc's output.
  torch::Tensor value;
  // Stream: on the way there, what int32 must hold too: the requantised (batch-normed) output alone, and
  // with its residual before the ReLU. Undefined for the other kinds.
  torch::Tensor requantised, before_relu;
};

// Calls visit once per op of the program, in program order, on `images` (N x C x H x W, normalised), the
// network in eval mode and without gradients. Throws std::invalid_argument for images of another rank.
void walk_program(models::Network& net, const torch::Tensor& images,
                  const std::function<void(const ProgramPoint&)>& visit);

}  // namespace apot::deploy
