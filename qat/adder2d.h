// AdderNet's layer on LibTorch (Chen et al., CVPR 2020): Y = -sum |X - W| over each patch (core/adder.h),
// trained by AdderNet's rules: the weights' full-precision gradient X - W (Eq. 5), the input's
// HardTanh-clipped W - X (Eq. 6), and the weight gradient rescaled to eta sqrt(k) / ||grad||_2 per layer
// (Eq. 12-13), applied inside backward as the official code does. The kernels run on raw pointers,
// split over images between LibTorch's threads (the backward pass in chunks of a fixed size, so the
// weight gradient has the same bits at every thread count), without the official layer's
// out_channels x K x positions temporaries.
//
// With bits < 32 the layer is post-training quantised (core/adder_quant.h: Nie et al., NeurIPS 2022):
// each output channel's group scale s_g is shared by its weights and its inputs, and the output is
// s_g / (2^b - 1) times the integer sum -sum |a - 2 q| plus the per-channel constant of the lossless
// weight clamp (`bias_list`); inference only.
#pragma once

#include <optional>

#include <torch/torch.h>

#include "core/adder_quant.h"

namespace apot::qat {

struct Adder2dOptions {
  int64_t in_channels = 1, out_channels = 1, kernel = 3, stride = 1, padding = 0;
  bool bias = false;
  double eta = 0.2;  // the adaptive scaling's eta (the official code's / 5)
  int bits = 32;     // 32: full precision; 2..kMaxAdderBits: post-training quantised
};

class Adder2dImpl : public torch::nn::Module {
 public:
  explicit Adder2dImpl(const Adder2dOptions& options);
  // x: N x in_channels x H x W, float32 on the CPU. Throws std::invalid_argument naming what is wrong
  // with another shape, type or device.
  torch::Tensor forward(const torch::Tensor& x);
  const Adder2dOptions& options() const { return options_; }
  bool quantized() const { return options_.bits < 32; }

  // Quantised layers: the quantisation in the buffers, and setting it (throws std::invalid_argument for
  // another bit width or channel count).
  AdderLayerQuant quantization() const;
  void set_quantization(const AdderLayerQuant& q);

  // Calibration (quantised layers): while observing, forward runs at full precision and keeps the
  // running maximum over batches of abs_percentile(input, percentile); nullopt before any batch.
  void observe_inputs(double percentile);
  std::optional<float> stop_observing();

  // Parameter names as the official code's: `adder` [out][in][kernel][kernel], initialised N(0, 1), and
  // `b` [out] when bias is on.
  torch::Tensor adder, b;
  // Quantised layers only: `act_range` [1] (alpha), `bias_list` [out] (as the official code's), and
  // per output channel its group (`kernel_group`, int64) and that group's scale (`group_scale`).
  torch::Tensor act_range, bias_list, kernel_group, group_scale;

 private:
  torch::Tensor quantized_forward(const torch::Tensor& x);

  Adder2dOptions options_;
  std::optional<double> observing_;  // the percentile, while observing
  std::optional<float> observed_;
};
TORCH_MODULE(Adder2d);

}  // namespace apot::qat
