// An IntegerModel with ResNet-20's shapes as `apot export` lays it out (one activation quantiser per
// quantised conv, 1x1-conv shortcuts quantised like the reference's, 8-bit first conv and fc): about
// 270k weights over 784 conv output channels, for file size and engine speed measurements.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "tests/support/integer_model_builder.h"

namespace apot::deploy::test {

inline IntegerModel resnet20_model(int bits, uint32_t seed = 1) {
  const LevelSetSpec w8{Scheme::Uniform, 8, 1, true};
  const LevelSetSpec weights{Scheme::APoT, bits, std::min(2, bits - 1), true};
  const LevelSetSpec acts{Scheme::APoT, bits, std::min(2, bits), false};

  ModelBuilder b(/*channels=*/3, /*height=*/32, /*width=*/32, seed);
  Tensor x = b.conv("conv1", b.input(), 16, /*kernel=*/3, /*stride=*/1, /*padding=*/1, w8, /*residual=*/-1,
                    /*relu=*/true, /*per_channel_alpha=*/false);
  for (int stage = 0; stage < 3; ++stage) {
    const int channels = 16 << stage;
    for (int block = 0; block < 3; ++block) {
      const std::string name = fmt::format("layer{}.{}", stage + 1, block);
      const int stride = stage > 0 && block == 0 ? 2 : 1;
      Tensor shortcut = x;
      if (stride != 1 || x.channels != channels) {
        shortcut = b.conv(name + ".downsample.0", b.act_quant(x, acts, 8.0), channels, 1, stride, 0, weights, -1,
                          /*relu=*/false, false);
      }
      const Tensor h = b.conv(name + ".conv1", b.act_quant(x, acts, 8.0), channels, 3, stride, 1, weights, -1, true, false);
      x = b.conv(name + ".conv2", b.act_quant(h, acts, 8.0), channels, 3, 1, 1, weights, shortcut.buffer, true, false);
    }
  }
  b.avg_pool_linear("fc", x, /*classes=*/10, w8);
  IntegerModel model = b.take();
  model.arch = "resnet20";
  model.weight_bits = bits;
  model.act_bits = bits;
  model.input.mean = {0.4914, 0.4822, 0.4465};
  model.input.std = {0.2470, 0.2435, 0.2616};
  return model;
}

}  // namespace apot::deploy::test
