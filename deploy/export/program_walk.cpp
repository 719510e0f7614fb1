#include "deploy/export/program_walk.h"

#include <fmt/format.h>

#include <stdexcept>

#include "models/network_layout.h"

namespace apot::deploy {

void walk_program(models::Network& net, const torch::Tensor& images,
                  const std::function<void(const ProgramPoint&)>& visit) {
  if (images.dim() != 4 || images.size(0) < 1) {
    throw std::invalid_argument(fmt::format("images: expected N x C x H x W with N >= 1, got {} dimensions", images.dim()));
  }
  net.eval();
  torch::NoGradGuard no_grad;
  const models::NetworkLayout layout = models::network_layout(net);
  using Kind = ProgramPoint::Kind;

  // The activation quantiser the exporter emits before each quantised convolution.
  const auto codes = [&](const models::ConvBn& layer, const torch::Tensor& x) {
    visit({Kind::Codes, layer.name, layer.conv.ptr()->effective_input(x), {}, {}});
  };
  // A convolution's stream: batch norm, the residual, the ReLU.
  const auto stream = [&](const models::ConvBn& layer, const torch::Tensor& x, const torch::Tensor& residual, bool relu) {
    const torch::Tensor requantised = layer.bn.ptr()->forward(layer.conv.ptr()->forward(x));
    const torch::Tensor before = residual.defined() ? requantised + residual : requantised;
    ProgramPoint point{Kind::Stream, layer.name, relu ? torch::relu(before) : before, requantised, before};
    visit(point);
    return point.value;
  };

  torch::Tensor x = stream(layout.stem, images.to(torch::kFloat), {}, true);
  if (layout.stem_maxpool) {
    x = torch::max_pool2d(x, 3, 2, 1);
    visit({Kind::Stream, "maxpool", x, x, x});
  }
  for (const models::ResidualBlockLayout& block : layout.blocks) {
    torch::Tensor shortcut = x;
    if (block.shortcut) {
      codes(*block.shortcut, x);
      shortcut = stream(*block.shortcut, x, {}, false);
    }
    torch::Tensor out = x;
    for (size_t i = 0; i < block.path.size(); ++i) {
      const bool last = i + 1 == block.path.size();
      codes(block.path[i], out);
      out = stream(block.path[i], out, last ? shortcut : torch::Tensor(), true);
    }
    x = out;
  }
  visit({Kind::Logits, layout.fc_name, layout.fc.ptr()->forward(x.mean({2, 3})), {}, {}});
}

}  // namespace apot::deploy
