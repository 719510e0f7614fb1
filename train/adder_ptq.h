// Post-training quantisation of an adder network (Nie et al., NeurIPS 2022; the official code's pipeline,
// ../shared/papers/addernet-digest.md section b): calibrate each adder layer's input range on training
// images, quantise every adder layer by redistribution or by one shared scale (core/adder_quant.h), then
// re-estimate batch norm's statistics on the quantised network. The first conv and the classifier stay in
// float, as in the official code.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/adder_quant.h"
#include "data/batches.h"
#include "data/dataset.h"
#include "models/network.h"
#include "qat/quant_config.h"

namespace apot::train {

struct AdderPtqOptions {
  AdderPtqMethod method = AdderPtqMethod::Redistribution;
  int groups = 4;                       // k-means groups per layer (the official ResNet-20's quant_group)
  // Calibration images, drawn without repeats from the training set (at most all of it) and augmented as
  // in training: the official code's 202 batches of 128.
  size_t calibration_images = 202 * 128;
  int batch_size = 128;
  double act_percentile = 0.9997;       // the official a_select_range (applied twice: ~99.94th percentile)
  bool reestimate_batch_norm = true;    // the official eval.py's adjust_BN: the images again, train mode
  data::AugmentOptions augment;         // the dataset's training augmentation
  uint64_t seed = 0;                    // image order, augmentation and k-means seeds
};

// The smallest input range a layer takes (the official code's floor).
constexpr float kMinAdderInputRange = 1e-3f;

struct AdderPtqResult {
  std::vector<std::pair<std::string, AdderLayerQuant>> layers;  // state_dict prefix, its quantisation
  size_t calibration_images = 0;
};

// What a quantised adder network's checkpoint records: `bits` for weights and activations alike, on
// uniform grids with no learned threshold (the scales are the layers' own buffers).
qat::QuantConfig adder_ptq_config(int bits);

// Quantises `net`, a network built at the quantised bit width (its adder layers quantised, models/) that
// holds the full-precision weights. Throws std::invalid_argument for a network without quantised adder
// layers, no calibration images, a percentile outside (0, 1], or groups < 1. `log` receives progress lines.
AdderPtqResult quantize_adder_network(models::Network& net, const data::ImageSet& train_set, const data::Normalization& norm,
                                      const AdderPtqOptions& options, const std::function<void(const std::string&)>& log);

}  // namespace apot::train
