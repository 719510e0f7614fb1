// From a trained fake-quant network (LibTorch) to the integer engine's program (deploy/format/integer_model.h).
#pragma once

#include <string>
#include <vector>

#include "deploy/format/integer_model.h"
#include "models/network.h"

namespace apot::deploy {

struct ExportOptions {
  int in_channels = 1, height = 28, width = 28;
  std::vector<double> mean, std;  // the input normalisation (per channel, pixel / 255 units)
  // The largest |normalised input| the input quantiser represents, on the finest int16 grid; 0: the
  // input is images of 8-bit pixels normalised by mean and std, on the grid pixel_input_grid picks.
  double input_range = 0;
  // Streams hold value * 2^frac_bits in int32. 20 leaves |values| up to 2048 with steps of 1e-6, safe
  // without knowing the network; calibrate_export (deploy/export/calibrate.h), which `apot export` and the study
  // use, gives the streams the most bits their range allows (24 for the Fashion-MNIST ResNet-20s).
  int frac_bits = 20;
};

// The input shape and normalisation of a dataset's images (data/datasets.h), the rest at its defaults.
ExportOptions export_options_for(const std::string& dataset);

// Walks the network (models/network_layout.h) in forward order and emits, per quantised conv, the
// activation quantiser of its input (Eq. 7 on the unsigned levels, as thresholds in stream units) and
// the conv with its weights as level codes and its batch norm folded into the fixed-point requant; then
// the global average pool and the 8-bit fc (paper section 4.1: first and last layers at 8 bits).
// Throws std::invalid_argument naming the layer for what has no integer form: full-precision layers,
// Lloyd levels, DoReFa weights (no zero level), non-positive thresholds, scales that overflow. Nothing
// is clamped or approximated beyond the streams' fixed point; what the user should know of the form it
// chose (reference-compatible 8-bit layers stored on a wider grid) goes to `notes`.
IntegerModel export_model(models::Network& net, const ExportOptions& options,
                          std::vector<std::string>* notes = nullptr);

// The largest |(p - mean[c]) / std[c]| over pixels p in [0, 1]: the input range of normalised images.
double normalised_input_range(const std::vector<double>& mean, const std::vector<double>& std);

// The input quantiser's step (InputQuant::scale) for images of 8-bit pixels, normalised in float as
// every batch is (data::normalise_pixel), and the largest |x - code x step| over their 256 x channels
// values. Of the candidates, the step with the smallest error: the finest one that covers the range
// (range / 32767) and the pixel lattices 1 / (255 std[c] K), K = 1, 2, ... while the codes fit int16.
// On a lattice, pixel p of a channel with that std is the integer K p - 255 K mean, exact but for the
// distance of 255 K mean from an integer: Fashion-MNIST's (0.2860, 0.3530) at K = 100 puts every pixel
// within 9.6e-8 of its float value (float32's own rounding), where the finest step leaves up to 3e-5,
// enough to change the fake-quant network's top-1 on about 0.5 % of the images (docs/integer-engine.md).
struct InputGrid {
  double step = 0;
  double max_error = 0;
};
InputGrid pixel_input_grid(const std::vector<double>& mean, const std::vector<double>& std);

// The largest |x - code x step| over those values for a given step; infinite where the input quantiser
// would refuse one. Both throw std::invalid_argument naming the channel for a std <= 0 or a non-finite
// mean or std.
double pixel_input_error(const std::vector<double>& mean, const std::vector<double>& std, double step);

}  // namespace apot::deploy
