// Max pooling and the last layer (deploy/engine/pooling.h) against literal NCHW evaluations.
#include "deploy/engine/pooling.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace apot::deploy {
namespace {

struct Stream {
  StreamLayout layout;
  int batch;
  std::vector<int32_t> data;
  int32_t& at(int n, int c, int y, int x) {
    return data[n * layout.image_elements() + (int64_t{y} * layout.width + x) * layout.stride + c];
  }
};

Stream random_stream(int batch, int channels, int height, int width, std::mt19937& rng) {
  Stream s{StreamLayout::make(channels, height, width), batch, {}};
  s.data.assign(batch * s.layout.image_elements(), 0);
  for (int n = 0; n < batch; ++n)
    for (int c = 0; c < channels; ++c)
      for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
          const uint32_t r = rng();
          s.at(n, c, y, x) = r % 16 == 0   ? std::numeric_limits<int32_t>::min()
                             : r % 16 == 1 ? std::numeric_limits<int32_t>::max()
                                           : static_cast<int32_t>(rng()) >> 8;
        }
  return s;
}

TEST(MaxPool, MatchesLiteralWindows) {
  std::mt19937 rng(1);
  struct Case {
    int c, h, w, k, s, p;
  };
  for (const Case pc : {Case{3, 8, 8, 3, 2, 1}, Case{17, 7, 9, 3, 2, 1}, Case{16, 4, 4, 2, 2, 0},
                        Case{5, 5, 5, 3, 1, 1}, Case{2, 1, 1, 3, 2, 1}, Case{4, 6, 6, 5, 3, 2}}) {
    Stream in = random_stream(2, pc.c, pc.h, pc.w, rng);
    const MaxPoolShape shape = MaxPoolShape::make(in.layout, pc.k, pc.s, pc.p);
    Stream out{shape.out, 2, std::vector<int32_t>(2 * shape.out.image_elements(), 0)};
    const int64_t rows = 2 * shape.out.height;
    max_pool(shape, in.data.data(), out.data.data(), 0, rows / 2);
    max_pool(shape, in.data.data(), out.data.data(), rows / 2, rows);
    for (int n = 0; n < 2; ++n)
      for (int c = 0; c < pc.c; ++c)
        for (int oy = 0; oy < shape.out.height; ++oy)
          for (int ox = 0; ox < shape.out.width; ++ox) {
            int64_t best = std::numeric_limits<int64_t>::min();  // padding never wins: only real taps
            for (int ky = 0; ky < pc.k; ++ky)
              for (int kx = 0; kx < pc.k; ++kx) {
                const int y = oy * pc.s - pc.p + ky, x = ox * pc.s - pc.p + kx;
                if (y >= 0 && x >= 0 && y < pc.h && x < pc.w) best = std::max<int64_t>(best, in.at(n, c, y, x));
              }
            ASSERT_EQ(out.at(n, c, oy, ox), best);
          }
    // The channel padding is not written.
    for (int64_t p = 0; p < 2 * shape.out.pixels(); ++p)
      for (int c = pc.c; c < shape.out.stride; ++c) ASSERT_EQ(out.data[p * shape.out.stride + c], 0);
  }
}

TEST(AvgPoolLinear, SumsInInt64AndDequantises) {
  std::mt19937 rng(2);
  Stream in = random_stream(1, 20, 7, 5, rng);
  const int classes = 10;
  std::vector<int32_t> w(classes * 20);
  for (int32_t& v : w) v = static_cast<int32_t>(rng() % 255) - 127;
  std::vector<double> scale(classes), bias(classes);
  for (int o = 0; o < classes; ++o) scale[o] = std::ldexp(1.0 + o, -40), bias[o] = o - 4.5;
  AvgPoolLinear op;
  op.in = in.layout;
  op.out_features = classes;
  op.weights = w.data();
  op.scale = scale.data();
  op.bias = bias.data();
  std::vector<float> logits(classes);
  avg_pool_linear(op, in.data.data(), logits.data());
  for (int o = 0; o < classes; ++o) {
    __int128 acc = 0;  // exact: sums of 35 int32 values times |w| <= 127 stay far inside int64
    for (int c = 0; c < 20; ++c)
      for (int y = 0; y < 7; ++y)
        for (int x = 0; x < 5; ++x) acc += static_cast<__int128>(in.at(0, c, y, x)) * w[o * 20 + c];
    EXPECT_EQ(logits[o], static_cast<float>(static_cast<double>(static_cast<int64_t>(acc)) * scale[o] + bias[o]));
  }
}

}  // namespace
}  // namespace apot::deploy
