// A small valid IntegerModel with every op kind and several level sets, for format and engine tests
// and as the fuzzer's seed: 1x8x8 input -> 8-bit conv -> act quant -> 4-bit APoT conv with a residual
// -> max pool -> act quant -> 3-bit PoT 1x1 stride-2 conv (per-channel alpha) -> avg pool + 8-bit fc.
#pragma once

#include <cstdint>

#include "tests/support/integer_model_builder.h"

namespace apot::deploy::test {

inline IntegerModel tiny_model(uint32_t seed = 1) {
  const LevelSetSpec w8{Scheme::Uniform, 8, 1, true};
  const LevelSetSpec w4{Scheme::APoT, 4, 2, true};
  const LevelSetSpec w3_pot{Scheme::PoT, 3, 2, true};
  const LevelSetSpec a4{Scheme::APoT, 4, 2, false};
  const LevelSetSpec a3{Scheme::APoT, 3, 2, false};

  ModelBuilder b(/*channels=*/1, /*height=*/8, /*width=*/8, seed);
  const Tensor stem = b.conv("conv1", b.input(), 4, /*kernel=*/3, /*stride=*/1, /*padding=*/1, w8, /*residual=*/-1,
                             /*relu=*/true, /*per_channel_alpha=*/false);
  const Tensor q1 = b.act_quant(stem, a4, /*alpha=*/8.0);
  const Tensor block = b.conv("layer1.0.conv1", q1, 4, 3, 1, 1, w4, /*residual=*/stem.buffer, true, false);
  const Tensor pooled = b.max_pool(block, /*kernel=*/3, /*stride=*/2, /*padding=*/1);
  const Tensor q2 = b.act_quant(pooled, a3, /*alpha=*/4.0);
  const Tensor down = b.conv("layer2.0.downsample.0", q2, 8, /*kernel=*/1, /*stride=*/2, /*padding=*/0, w3_pot, -1,
                             /*relu=*/false, /*per_channel_alpha=*/true);
  b.avg_pool_linear("fc", down, /*classes=*/3, w8);
  IntegerModel model = b.take();
  model.arch = "tiny";
  model.weight_bits = 4;
  model.act_bits = 4;
  model.input.mean = {0.5};
  model.input.std = {0.25};
  return model;
}

}  // namespace apot::deploy::test
