// Quantised convolution and linear layers. Their state_dict names are the reference's: `weight`,
// `bias`, `act_alpha` (the input's threshold) and `weight_quant.wgt_alpha`; a full-precision layer has
// only `weight` (and `bias`), like the reference's 32-bit model.
#pragma once

#include <optional>

#include <torch/torch.h>

#include "qat/act_quant.h"
#include "qat/quant_config.h"
#include "qat/weight_quant.h"

namespace apot::qat {

struct ConvShape {
  int64_t in_channels = 0, out_channels = 0, kernel = 1, stride = 1, padding = 0;
  bool bias = false;
};

// Quantises its input (activation bits) and its weights (weight bits), then convolves in float: the
// fake-quant model of training.
class QuantConv2dImpl : public torch::nn::Module {
 public:
  QuantConv2dImpl(const ConvShape& shape, const QuantConfig& config);
  torch::Tensor forward(const torch::Tensor& x);

  // The weights the convolution uses: quantised, or as they are at full precision.
  torch::Tensor effective_weight();
  // The input the convolution sees.
  torch::Tensor effective_input(const torch::Tensor& x);
  // Re-initialise what the quantisers derive from the weights (see WeightQuantImpl::init_from).
  void init_quantizers();
  // Threshold calibration (models::Network::fit_thresholds): while on, every forward first sets act_alpha
  // to the QEM threshold of the input it gets (ActQuant::fit_threshold).
  void set_calibrating(bool on) { calibrating_ = on; }

  const ConvShape& shape() const { return shape_; }
  const QuantConfig& config() const { return config_; }
  const std::optional<ActQuant>& act_quant() const { return act_quant_; }

  torch::Tensor weight, bias, act_alpha;
  WeightQuant weight_quant{nullptr};

 private:
  ConvShape shape_;
  QuantConfig config_;
  std::optional<ActQuant> act_quant_;
  bool calibrating_ = false;
};
TORCH_MODULE(QuantConv2d);

// A linear layer with quantised weights (the 8-bit last layer); its input stays in float, as in the
// reference.
class QuantLinearImpl : public torch::nn::Module {
 public:
  QuantLinearImpl(int64_t in_features, int64_t out_features, const QuantConfig& config);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor effective_weight();
  void init_quantizers();

  torch::Tensor weight, bias;
  WeightQuant weight_quant{nullptr};
};
TORCH_MODULE(QuantLinear);

}  // namespace apot::qat
