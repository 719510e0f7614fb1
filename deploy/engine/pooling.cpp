#include "deploy/engine/pooling.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace apot::deploy {

MaxPoolShape MaxPoolShape::make(const StreamLayout& in, int kernel, int stride, int padding) {
  MaxPoolShape s;
  s.in = in;
  s.out = StreamLayout::make(in.channels, (in.height + 2 * padding - kernel) / stride + 1,
                             (in.width + 2 * padding - kernel) / stride + 1);
  s.kernel = kernel;
  s.stride = stride;
  s.padding = padding;
  return s;
}

void max_pool(const MaxPoolShape& s, const int32_t* in, int32_t* out, int64_t row_begin, int64_t row_end) {
  const int channels = s.in.channels;
  for (int64_t row = row_begin; row < row_end; ++row) {
    const int64_t n = row / s.out.height;
    const int oy = static_cast<int>(row % s.out.height);
    const int32_t* image = in + n * s.in.image_elements();
    // The window clipped to the input: the taps in the padding are skipped rather than compared.
    const int y0 = std::max(0, oy * s.stride - s.padding),
              y1 = std::min(s.in.height, oy * s.stride - s.padding + s.kernel);
    for (int ox = 0; ox < s.out.width; ++ox) {
      const int x0 = std::max(0, ox * s.stride - s.padding),
                x1 = std::min(s.in.width, ox * s.stride - s.padding + s.kernel);
      int32_t* o = out + n * s.out.image_elements() + (int64_t{oy} * s.out.width + ox) * s.out.stride;
      std::fill(o, o + channels, std::numeric_limits<int32_t>::min());
      for (int y = y0; y < y1; ++y) {
        for (int x = x0; x < x1; ++x) {
          const int32_t* p = image + (int64_t{y} * s.in.width + x) * s.in.stride;
          for (int c = 0; c < channels; ++c) o[c] = std::max(o[c], p[c]);
        }
      }
    }
  }
}

void avg_pool_linear(const AvgPoolLinear& op, const int32_t* image, float* logits) {
  const int channels = op.in.channels;
  thread_local std::vector<int64_t> sums;  // kept between calls: no allocation per image
  sums.assign(static_cast<size_t>(channels), 0);
  for (int64_t p = 0; p < op.in.pixels(); ++p) {
    const int32_t* pixel = image + p * op.in.stride;
    for (int c = 0; c < channels; ++c) sums[c] += pixel[c];
  }
  for (int o = 0; o < op.out_features; ++o) {
    const int32_t* w = op.weights + static_cast<size_t>(o) * channels;
    int64_t acc = 0;
    for (int c = 0; c < channels; ++c) acc += sums[c] * w[c];
    logits[o] = static_cast<float>(static_cast<double>(acc) * op.scale[o] + op.bias[o]);
  }
}

}  // namespace apot::deploy
