// From a trained fake-quant network (LibTorch) to the integer engine's program (deploy/integer_model.h).
#pragma once

#include <string>
#include <vector>

#include "deploy/integer_model.h"
#include "models/network.h"

namespace apot::deploy {

struct ExportOptions {
  int in_channels = 1, height = 28, width = 28;
  std::vector<double> mean, std;  // the input normalisation (per channel, pixel / 255 units)
  // The largest |normalised input| the input quantiser represents; 0: the range of pixels in [0, 1]
  // after normalisation by mean and std.
  double input_range = 0;
  // Streams hold value * 2^frac_bits in int32: 20 leaves |values| up to 2048, far above what batch-normed
  // ResNets produce, with steps of 1e-6 (docs/integer-engine.md has the measurement behind the choice).
  int frac_bits = 20;
};

// The input shape and normalisation of a dataset's images (data/datasets.h), the rest at its defaults.
ExportOptions export_options_for(const std::string& dataset);

// Walks the network (models/network_layout.h) in forward order and emits, per quantised conv, the
// activation quantiser of its input (Eq. 7 on the unsigned levels, as thresholds in stream units) and
// the conv with its weights as level codes and its batch norm folded into the fixed-point requant; then
// the global average pool and the 8-bit fc (paper section 4.1: first and last layers at 8 bits).
// Throws std::invalid_argument naming the layer for what has no integer form: full-precision layers,
// Lloyd levels, DoReFa weights (no zero level), non-positive thresholds, scales that overflow. What it
// had to change (reference-compatible 8-bit weights beyond the 8-bit range) goes to `warnings`.
IntegerModel export_model(models::Network& net, const ExportOptions& options,
                          std::vector<std::string>* warnings = nullptr);

// The largest |(p - mean[c]) / std[c]| over pixels p in [0, 1]: the input range of normalised images.
double normalised_input_range(const std::vector<double>& mean, const std::vector<double>& std);

}  // namespace apot::deploy
