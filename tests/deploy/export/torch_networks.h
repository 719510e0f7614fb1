// Networks and images for the tests of the exporter and its calibration: random weights whose batch
// norms have seen data, and Fashion-MNIST-like images.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "data/dataset.h"
#include "data/datasets.h"
#include "models/network.h"

namespace apot::deploy::test {

// A network whose batch norms have seen data, so the folded requant is not the identity.
inline std::shared_ptr<models::Network> network(int bits, int64_t in_channels = 1, const std::string& arch = "resnet20",
                                                int64_t size = 28) {
  torch::manual_seed(3);
  models::NetworkOptions options;
  options.in_channels = in_channels;
  options.quant.weight_bits = bits;
  options.quant.act_bits = bits;
  auto net = models::make_network(arch, options);
  net->train();
  torch::NoGradGuard no_grad;
  for (int i = 0; i < 3; ++i) net->forward(torch::randn({16, in_channels, size, size}));
  net->eval();
  return net;
}

// Random 8-bit pixels, normalised as every batch is (data::normalise_pixel) with Fashion-MNIST's
// mean and std.
inline torch::Tensor pixel_images(int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  const torch::Tensor pixels = torch::randint(0, 256, {n, 1, 28, 28}, torch::kLong);
  torch::Tensor x = torch::empty({n, 1, 28, 28});
  const int64_t* p = pixels.data_ptr<int64_t>();
  float* out = x.data_ptr<float>();
  for (int64_t i = 0; i < x.numel(); ++i) out[i] = data::normalise_pixel(static_cast<int>(p[i]), 0.2860f, 0.3530f);
  return x;
}

// Image-like inputs for CIFAR-10 networks from real images: the first n Fashion-MNIST test images (Debian's
// dataset-fashion-mnist), padded with black to 32 x 32, repeated to 3 channels and normalised with the
// reference's CIFAR-10 mean and std.
inline torch::Tensor image_like_inputs(int64_t n) {
  const data::ImageSet test = data::load_dataset("fashion-mnist", "", /*train=*/false);
  const float mean[3] = {0.491f, 0.482f, 0.447f}, std[3] = {0.247f, 0.243f, 0.262f};
  torch::Tensor x = torch::empty({n, 3, 32, 32});
  float* out = x.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* image = test.pixels.data() + static_cast<size_t>(i) * test.image_bytes();
    for (int c = 0; c < 3; ++c) {
      for (int y = 0; y < 32; ++y) {
        for (int xx = 0; xx < 32; ++xx) {
          const bool inside = y >= 2 && y < 30 && xx >= 2 && xx < 30;
          *out++ = data::normalise_pixel(inside ? image[(y - 2) * 28 + (xx - 2)] : 0, mean[c], std[c]);
        }
      }
    }
  }
  return x;
}

}  // namespace apot::deploy::test
