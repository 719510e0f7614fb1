#include "deploy/export/calibrate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "data/batches.h"
#include "data/dataset.h"
#include "data/datasets.h"
#include "models/network_layout.h"

namespace apot::deploy {

namespace {

class Walk {
 public:
  torch::Tensor conv_bn(const models::ConvBn& layer, const torch::Tensor& x) {
    return seen(layer.bn.ptr()->forward(layer.conv.ptr()->forward(x)));
  }
  torch::Tensor seen(torch::Tensor t) {
    const double m = t.abs().max().item<double>();
    if (!(m <= largest_)) largest_ = m;  // a NaN too, which the caller then refuses
    return t;
  }
  double largest() const { return largest_; }

 private:
  double largest_ = 0;
};

}  // namespace

StreamRange stream_range(models::Network& net, const torch::Tensor& images) {
  if (images.dim() != 4 || images.size(0) < 1) {
    throw std::invalid_argument(fmt::format("calibration images: expected N x C x H x W with N >= 1, got {} dimensions",
                                            images.dim()));
  }
  net.eval();
  torch::NoGradGuard no_grad;
  const models::NetworkLayout layout = models::network_layout(net);
  Walk walk;
  torch::Tensor x = torch::relu(walk.conv_bn(layout.stem, images.to(torch::kFloat)));
  if (layout.stem_maxpool) x = torch::max_pool2d(x, 3, 2, 1);
  for (const models::ResidualBlockLayout& block : layout.blocks) {
    const torch::Tensor shortcut = block.shortcut ? walk.conv_bn(*block.shortcut, x) : x;
    torch::Tensor out = x;
    for (size_t i = 0; i < block.path.size(); ++i) {
      out = walk.conv_bn(block.path[i], out);
      if (i + 1 < block.path.size()) out = torch::relu(out);
    }
    x = torch::relu(walk.seen(out + shortcut));
  }
  if (!std::isfinite(walk.largest())) {
    throw std::invalid_argument("calibration: the network's streams are not finite on these images");
  }
  return {walk.largest(), layout.fc.ptr()->forward(x.mean({2, 3}))};
}

int frac_bits_for(double largest, double headroom) {
  if (!(largest >= 0) || !std::isfinite(largest) || !(headroom >= 1) || !std::isfinite(headroom)) {
    throw std::invalid_argument(fmt::format("frac_bits_for: largest {} and headroom {}: expected a finite largest "
                                            ">= 0 and a finite headroom >= 1", largest, headroom));
  }
  int bits = kMaxFracBits;
  while (bits > 0 && headroom * largest * std::ldexp(1.0, bits) > 2147483647.0) --bits;
  return bits;
}

std::string Calibration::describe() const {
  return fmt::format("calibration: largest stream value {:.4g} on {} training images: {} fraction bits", largest, images,
                     options.frac_bits);
}

Calibration calibrate_export(models::Network& net, const std::string& dataset, const data::ImageSet& images) {
  if (images.size() < 1) throw std::invalid_argument("calibration: expected at least 1 image");
  Calibration c;
  c.options = export_options_for(dataset);
  if (images.channels != c.options.in_channels || images.height != c.options.height || images.width != c.options.width) {
    throw std::invalid_argument(fmt::format("calibration images are {}x{}x{}, {}'s are {}x{}x{}", images.channels,
                                            images.height, images.width, dataset, c.options.in_channels,
                                            c.options.height, c.options.width));
  }
  constexpr size_t kBatch = 100;  // bounds the memory of large inputs
  const data::Normalization norm = data::default_normalization(dataset);
  std::vector<size_t> order(images.size());
  std::iota(order.begin(), order.end(), size_t{0});
  torch::Tensor x = torch::empty({static_cast<int64_t>(kBatch), images.channels, images.height, images.width});
  std::vector<int64_t> labels(kBatch);
  for (size_t begin = 0; begin < images.size(); begin += kBatch) {
    const size_t count = std::min(kBatch, images.size() - begin);
    data::fill_batch(images, order, begin, count, norm, data::AugmentOptions{}, 0, x.data_ptr<float>(), labels.data());
    c.largest = std::max(c.largest, stream_range(net, x.narrow(0, 0, static_cast<int64_t>(count))).largest);
  }
  c.images = images.size();
  c.options.frac_bits = frac_bits_for(c.largest, kCalibrationHeadroom);
  return c;
}

}  // namespace apot::deploy
