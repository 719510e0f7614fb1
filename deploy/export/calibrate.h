// How large the integer program's streams get on real data, so that export can give them as many
// fraction bits as int32 holds without saturating (deploy/format/integer_model.h: a stream holds value x
// 2^frac_bits in int32, and the engine saturates rather than wrapping).
#pragma once

#include <cstddef>
#include <string>

#include <torch/torch.h>

#include "data/dataset.h"
#include "deploy/export/export.h"
#include "models/network.h"

namespace apot::deploy {

struct StreamRange {
  // The largest |value| of any stream the exporter emits: the stem's batch-normed output and after its
  // ReLU (and max pool), every convolution's batch-normed output, every block's sum with its shortcut.
  double largest = 0;
  // avg pool + fc of the last stream: the network's logits, by which tests hold the walk to the forward.
  torch::Tensor logits;
};

// The fake-quant network's forward pass over `images` (N x C x H x W, normalised), walked layer by
// layer in the order the exporter emits the program (models/network_layout.h), in eval mode.
StreamRange stream_range(models::Network& net, const torch::Tensor& images);

// The most fraction bits, at most kMaxFracBits, that keep `headroom` x `largest` inside int32
// (|value| x 2^frac_bits <= 2^31 - 1); at least 0. With 24 bits a stream's step (6e-8) is float32's own
// at 1, below which nothing the fake-quant network computes is resolved anyway.
inline constexpr int kMaxFracBits = 24;
int frac_bits_for(double largest, double headroom);

// Calibration on images of a dataset (a few hundred of its training split: the study and `apot export`
// take the first 1000), normalised as training saw them: they give the streams' range, and a headroom of
// kCalibrationHeadroom over it covers inputs larger than these.
inline constexpr double kCalibrationHeadroom = 4;
inline constexpr size_t kCalibrationImages = 1000;
struct Calibration {
  ExportOptions options;  // export_options_for(dataset) with frac_bits = frac_bits_for(largest, headroom)
  size_t images = 0;
  std::string source;     // what the images were, e.g. "training images"
  double largest = 0;
  std::string describe() const;  // one line: the range, the images and the bits
};
// Throws std::invalid_argument for no images or images of another shape than the dataset's.
Calibration calibrate_export(models::Network& net, const std::string& dataset, const data::ImageSet& images);
// The same on the user's own inputs (N x C x H x W, normalised as the network's input, the dataset's
// shape), for data apot does not ship.
Calibration calibrate_export(models::Network& net, const std::string& dataset, const torch::Tensor& inputs,
                             const std::string& source);

}  // namespace apot::deploy
