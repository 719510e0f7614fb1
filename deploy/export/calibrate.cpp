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
#include "deploy/export/program_walk.h"

namespace apot::deploy {

StreamRange stream_range(models::Network& net, const torch::Tensor& images) {
  StreamRange range;
  walk_program(net, images, [&](const ProgramPoint& point) {
    if (point.kind == ProgramPoint::Kind::Logits) range.logits = point.value;
    if (point.kind != ProgramPoint::Kind::Stream) return;
    for (const torch::Tensor& t : {point.requantised, point.before_relu}) {
      const double m = t.abs().max().item<double>();
      if (!(m <= range.largest)) range.largest = m;  // a NaN too, refused below
    }
  });
  if (!std::isfinite(range.largest)) {
    throw std::invalid_argument("calibration: the network's streams are not finite on these images");
  }
  return range;
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
  return fmt::format("calibration: largest stream value {:.4g} on {} {}: {} fraction bits", largest, images, source,
                     options.frac_bits);
}

namespace {

Calibration for_dataset(const std::string& dataset, int64_t images, int64_t channels, int64_t height, int64_t width,
                        const std::string& what) {
  if (images < 1) throw std::invalid_argument(fmt::format("calibration: expected at least 1 image in {}", what));
  Calibration c;
  c.options = export_options_for(dataset);
  if (channels != c.options.in_channels || height != c.options.height || width != c.options.width) {
    throw std::invalid_argument(fmt::format("calibration: {} are {}x{}x{}, {}'s are {}x{}x{}", what, channels, height,
                                            width, dataset, c.options.in_channels, c.options.height, c.options.width));
  }
  c.images = static_cast<size_t>(images);
  c.source = what;
  return c;
}

// Bounds the memory of large inputs.
constexpr size_t kCalibrationBatch = 100;

}  // namespace

Calibration calibrate_export(models::Network& net, const std::string& dataset, const data::ImageSet& images) {
  Calibration c = for_dataset(dataset, static_cast<int64_t>(images.size()), images.channels, images.height, images.width,
                              "training images");
  constexpr size_t kBatch = kCalibrationBatch;
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
  c.options.frac_bits = frac_bits_for(c.largest, kCalibrationHeadroom);
  return c;
}

Calibration calibrate_export(models::Network& net, const std::string& dataset, const torch::Tensor& inputs,
                             const std::string& source) {
  if (inputs.dim() != 4) {
    throw std::invalid_argument(fmt::format("calibration: {} has {} dimensions, expected N x C x H x W", source, inputs.dim()));
  }
  Calibration c = for_dataset(dataset, inputs.size(0), inputs.size(1), inputs.size(2), inputs.size(3), source);
  const int64_t batch = static_cast<int64_t>(kCalibrationBatch);
  for (int64_t begin = 0; begin < inputs.size(0); begin += batch) {
    const torch::Tensor x = inputs.narrow(0, begin, std::min(batch, inputs.size(0) - begin)).to(torch::kFloat);
    c.largest = std::max(c.largest, stream_range(net, x).largest);
  }
  c.options.frac_bits = frac_bits_for(c.largest, kCalibrationHeadroom);
  return c;
}

}  // namespace apot::deploy
