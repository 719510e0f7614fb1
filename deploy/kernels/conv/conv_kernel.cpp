#include "deploy/kernels/conv/conv_kernel.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <stdexcept>

#include "core/codec.h"

namespace apot::deploy {

ConvShape ConvShape::make(const CodesLayout& in, int out_channels, int kernel, int stride, int padding) {
  if (padding > in.border) {
    throw std::invalid_argument(
        fmt::format("conv padding {} exceeds the input's stored zero border {}", padding, in.border));
  }
  if (kernel < 1 || stride < 1 || in.height + 2 * padding < kernel || in.width + 2 * padding < kernel) {
    throw std::invalid_argument(fmt::format("conv window {} stride {} padding {} does not fit a {}x{} input", kernel,
                                            stride, padding, in.height, in.width));
  }
  ConvShape s;
  s.in = in;
  s.out = StreamLayout::make(out_channels, (in.height + 2 * padding - kernel) / stride + 1,
                             (in.width + 2 * padding - kernel) / stride + 1);
  s.kernel = kernel;
  s.stride = stride;
  s.padding = padding;
  return s;
}

ShiftAddWeight shift_add_weight(const LevelSet& set, const Level& level) {
  ShiftAddWeight w;
  if (level.integer == 0) return w;
  if (level.exponents.size() > ShiftAddWeight::kMaxTerms) {
    throw std::invalid_argument(fmt::format("level {} of '{}' has {} terms, expected at most {}", level.value,
                                            set.describe(), level.exponents.size(), ShiftAddWeight::kMaxTerms));
  }
  w.sign = level.integer < 0 ? -1 : 1;
  int64_t sum = 0;
  for (const int e : level.exponents) {
    const int shift = set.shift() - e;
    if (shift < 0 || shift > 30) {
      throw std::invalid_argument(
          fmt::format("level {} of '{}' needs the shift {}, expected 0..30", level.value, set.describe(), shift));
    }
    w.shifts[w.terms++] = static_cast<uint8_t>(shift);
    sum += int64_t{1} << shift;
  }
  if (sum != std::llabs(level.integer)) {
    throw std::invalid_argument(fmt::format("level {} of '{}': its terms add up to {}, its integer form is {}",
                                            level.value, set.describe(), sum, level.integer));
  }
  return w;
}

ConvLayer ConvLayer::from_codes(const ConvShape& shape, const LevelSet& set, const uint16_t* codes,
                                const int32_t* multiplier, const uint8_t* shift, const int32_t* bias, bool relu) {
  ConvLayer layer;
  layer.shape = shape;
  const size_t count = static_cast<size_t>(shape.out.channels) * shape.in.channels * shape.taps();
  layer.weights.resize(count);
  layer.terms.resize(count);
  for (size_t i = 0; i < count; ++i) {
    const Level& level = decode(set, codes[i]);
    layer.weights[i] = static_cast<int32_t>(level.integer);
    layer.terms[i] = shift_add_weight(set, level);
  }
  const size_t channels = static_cast<size_t>(shape.out.channels);
  layer.multiplier.assign(multiplier, multiplier + channels);
  layer.shift.assign(shift, shift + channels);
  layer.bias.assign(bias, bias + channels);
  layer.relu = relu;
  return layer;
}

ActQuantRows fused_rows(const FusedActQuant& q, int64_t image, int y, int x, int64_t pixels, int channel, int channels,
                        const int32_t* stream, int64_t stream_stride) {
  ActQuantRows r;
  r.in = stream;
  r.in_stride = stream_stride;
  r.out = static_cast<char*>(q.codes) +
          (image * q.layout.image_elements() + q.layout.pixel(y, x) + channel) * q.layout.element_bytes();
  r.out_stride = q.layout.stride;
  r.type = q.layout.type;
  r.pixels = pixels;
  r.channels = channels;
  r.row_ends = q.layout.row_ends(x);
  return r;
}

std::vector<AccRange> acc_ranges(const ConvLayer& layer) {
  const ConvShape& s = layer.shape;
  const bool unsigned_codes = s.in.type == CodeType::U8;
  const int64_t max_input = layer.max_input > 0 ? layer.max_input : unsigned_codes ? 255 : 32768;
  const size_t per_channel = static_cast<size_t>(s.in.channels) * s.taps();
  std::vector<AccRange> ranges(static_cast<size_t>(s.out.channels));
  for (size_t co = 0; co < ranges.size(); ++co) {
    int64_t negative = 0, positive = 0;
    for (size_t i = co * per_channel; i < (co + 1) * per_channel; ++i) {
      (layer.weights[i] < 0 ? negative : positive) += layer.weights[i];
    }
    ranges[co] = unsigned_codes ? AccRange{negative * max_input, positive * max_input}
                                : AccRange{(negative - positive) * max_input, (positive - negative) * max_input};
  }
  return ranges;
}

bool avx2_u8_exact(int32_t max_input, int32_t max_abs_weight) {
  return int64_t{2} * max_input * max_abs_weight <= 32767;
}

int avx2_u8_int16_sums(const ConvLayer& layer) {
  const ConvShape& s = layer.shape;
  const int64_t max_input = layer.max_input > 0 ? layer.max_input : 255;
  const int groups = (s.in.channels + 3) / 4;
  int sums = kMaxInt16Sums;
  std::vector<int64_t> pairs;  // of one int16 lane: per (tap, group), the largest |pair sum|
  for (int co = 0; co < s.out.channels; ++co) {
    for (int lane = 0; lane < 2; ++lane) {  // input channels 4g + 2 lane and 4g + 2 lane + 1
      pairs.clear();
      for (int tap = 0; tap < s.taps(); ++tap) {
        for (int g = 0; g < groups; ++g) {
          int64_t weights = 0;
          for (int ci = 4 * g + 2 * lane; ci < std::min(4 * g + 2 * lane + 2, s.in.channels); ++ci) {
            weights += std::abs(layer.weights[(static_cast<size_t>(co) * s.in.channels + ci) * s.taps() + tap]);
          }
          pairs.push_back(weights * max_input);
        }
      }
      std::sort(pairs.begin(), pairs.end(), std::greater<>());
      int64_t total = 0;
      size_t k = 0;
      while (k < pairs.size() && total + pairs[k] <= 32767) total += pairs[k++];
      if (k < pairs.size()) sums = std::min(sums, static_cast<int>(k));
    }
  }
  return sums;
}

std::unique_ptr<ConvKernel> make_conv_kernel(Kernel family, const ConvLayer& layer) {
  const size_t weights = static_cast<size_t>(layer.shape.out.channels) * layer.shape.in.channels * layer.shape.taps();
  const size_t channels = static_cast<size_t>(layer.shape.out.channels);
  if (layer.weights.size() != weights || layer.multiplier.size() != channels || layer.shift.size() != channels ||
      layer.bias.size() != channels) {
    throw std::invalid_argument(
        fmt::format("conv layer: {} weights and {} / {} / {} requant entries, expected {} and {}", layer.weights.size(),
                    layer.multiplier.size(), layer.shift.size(), layer.bias.size(), weights, channels));
  }
  if (family != Kernel::Auto && !cpu_supports(isa_of(family))) {
    throw std::runtime_error(
        fmt::format("the {} convolution needs a CPU with {}", to_string(family), to_string(isa_of(family))));
  }
  switch (family) {
    case Kernel::ShiftAdd:
      return make_conv_shift_add(layer);
    case Kernel::Scalar:
      return make_conv_scalar(layer);
    case Kernel::Avx2:
    case Kernel::Avx512Vnni:
      return make_conv_blocked(family, layer);
    case Kernel::Auto:
      break;
  }
  throw std::invalid_argument("make_conv_kernel: resolve the kernel family first (deploy/kernels/kernel.h)");
}

}  // namespace apot::deploy
