// AdderNet's layer on LibTorch (Chen et al., CVPR 2020): Y = -sum |X - W| over each patch (core/adder.h),
// trained by AdderNet's rules: the weights' full-precision gradient X - W (Eq. 5), the input's
// HardTanh-clipped W - X (Eq. 6), and the weight gradient rescaled to eta sqrt(k) / ||grad||_2 per layer
// (Eq. 12-13), applied inside backward as the official code does. The kernels run on raw pointers,
// split over images between LibTorch's threads (the backward pass in chunks of a fixed size, so the
// weight gradient has the same bits at every thread count), without the official layer's
// out_channels x K x positions temporaries.
#pragma once

#include <torch/torch.h>

namespace apot::qat {

struct Adder2dOptions {
  int64_t in_channels = 1, out_channels = 1, kernel = 3, stride = 1, padding = 0;
  bool bias = false;
  double eta = 0.2;  // the adaptive scaling's eta (the official code's / 5)
};

class Adder2dImpl : public torch::nn::Module {
 public:
  explicit Adder2dImpl(const Adder2dOptions& options);
  // x: N x in_channels x H x W, float32 on the CPU. Throws std::invalid_argument naming what is wrong
  // with another shape, type or device.
  torch::Tensor forward(const torch::Tensor& x);
  const Adder2dOptions& options() const { return options_; }

  // Parameter names as the official code's: `adder` [out][in][kernel][kernel], initialised N(0, 1), and
  // `b` [out] when bias is on.
  torch::Tensor adder, b;

 private:
  Adder2dOptions options_;
};
TORCH_MODULE(Adder2d);

}  // namespace apot::qat
