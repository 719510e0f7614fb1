// Builds small valid IntegerModels by hand for tests, benchmarks and the fuzzer's seeds: each call adds
// one op on the buffer it is given, with deterministic pseudo-random weights and requantisation, so the
// result passes deploy/format/validate.h without a trained network (or LibTorch) behind it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/levels.h"
#include "deploy/format/integer_model.h"

namespace apot::deploy::test {

// A buffer and the shape it holds.
struct Tensor {
  int buffer = 0;
  int channels = 0, height = 0, width = 0;
  int32_t max_abs = 0;  // codes: the largest |integer|; streams: unused
};

class ModelBuilder {
 public:
  ModelBuilder(int channels, int height, int width, uint32_t seed) : state_(seed) {
    model_.arch = "test";
    model_.description = "hand-built test model";
    model_.in_channels = channels;
    model_.height = height;
    model_.width = width;
    model_.input.scale = 1.0 / 4096;
  }

  Tensor input() const { return {0, model_.in_channels, model_.height, model_.width, 32767}; }

  // Eq. 7 on the activations: thresholds at the midpoints of the levels times alpha, in stream units.
  Tensor act_quant(const Tensor& in, const LevelSetSpec& levels, double alpha) {
    const LevelSet set = levels.make();
    ActQuantOp op;
    op.input = in.buffer;
    op.output = model_.buffer_count++;
    op.levels = levels;
    op.alpha = alpha;
    const std::vector<Level>& l = set.levels();
    for (size_t j = 0; j < l.size(); ++j) {
      op.values.push_back(static_cast<int16_t>(l[j].integer));
      if (j + 1 < l.size()) {
        op.thresholds.push_back(
            static_cast<int32_t>(std::ceil(std::ldexp((l[j].value + l[j + 1].value) / 2 * alpha, model_.frac_bits))));
      }
    }
    const int32_t max_abs = op.values.back();
    model_.ops.push_back(std::move(op));
    return {model_.buffer_count - 1, in.channels, in.height, in.width, max_abs};
  }

  // Random level codes; the requant scale maps a typical accumulator (sqrt(K) x max|x| / 2 x max|w| / 2
  // for K random products) to 4.0, so outputs spread over the next activation quantiser's levels.
  Tensor conv(const std::string& name, const Tensor& in, int out_channels, int kernel, int stride, int padding,
              const LevelSetSpec& levels, int residual, bool relu, bool per_channel_alpha) {
    ConvOp op;
    op.name = name;
    op.input = in.buffer;
    op.output = model_.buffer_count++;
    op.residual = residual;
    op.in_channels = in.channels;
    op.out_channels = out_channels;
    op.kernel = kernel;
    op.stride = stride;
    op.padding = padding;
    op.levels = levels;
    op.relu = relu;
    op.codes = random_codes(levels, static_cast<size_t>(out_channels) * in.channels * kernel * kernel);
    const double typical = std::sqrt(static_cast<double>(in.channels) * kernel * kernel) * in.max_abs / 2 *
                           static_cast<double>(max_integer(levels)) / 2;
    const int shift = std::clamp(30 - static_cast<int>(std::lround(std::log2(std::ldexp(4.0, model_.frac_bits) / typical))), 0, 62);
    for (int c = 0; c < out_channels; ++c) {
      op.requant.multiplier.push_back(static_cast<int32_t>((1u << 30) + next() % (1u << 30)));
      op.requant.shift.push_back(static_cast<uint8_t>(shift));
      op.requant.bias.push_back(static_cast<int32_t>(next() % (1u << model_.frac_bits)) - (1 << (model_.frac_bits - 1)));
      if (per_channel_alpha || c == 0) op.weight_alpha.push_back(0.5 + (next() % 1000) / 1000.0);
    }
    model_.ops.push_back(std::move(op));
    return {model_.buffer_count - 1, out_channels, (in.height + 2 * padding - kernel) / stride + 1,
            (in.width + 2 * padding - kernel) / stride + 1};
  }

  Tensor max_pool(const Tensor& in, int kernel, int stride, int padding) {
    MaxPoolOp op;
    op.input = in.buffer;
    op.output = model_.buffer_count++;
    op.kernel = kernel;
    op.stride = stride;
    op.padding = padding;
    model_.ops.push_back(op);
    return {model_.buffer_count - 1, in.channels, (in.height + 2 * padding - kernel) / stride + 1,
            (in.width + 2 * padding - kernel) / stride + 1};
  }

  void avg_pool_linear(const std::string& name, const Tensor& in, int classes, const LevelSetSpec& levels) {
    AvgPoolLinearOp op;
    op.name = name;
    op.input = in.buffer;
    op.in_features = in.channels;
    op.out_features = classes;
    op.levels = levels;
    op.codes = random_codes(levels, static_cast<size_t>(classes) * in.channels);
    for (int o = 0; o < classes; ++o) {
      op.scale.push_back(std::ldexp(1.0 + (next() % 1000) / 1000.0, -30));
      op.bias.push_back((static_cast<double>(next() % 2001) - 1000) / 1000);
    }
    model_.num_classes = classes;
    model_.ops.push_back(std::move(op));
  }

  IntegerModel take() { return std::move(model_); }

 private:
  // A portable LCG: the same models on every standard library (std distributions are not).
  uint32_t next() {
    state_ = state_ * 1664525u + 1013904223u;
    return state_ >> 8;
  }

  static int64_t max_integer(const LevelSetSpec& levels) { return levels.make().levels().back().integer; }

  std::vector<WeightCode> random_codes(const LevelSetSpec& levels, size_t count) {
    const LevelSet set = levels.make();
    const std::vector<Level>& l = set.levels();
    std::vector<WeightCode> codes(count);
    for (WeightCode& code : codes) code = static_cast<WeightCode>(l[next() % l.size()].code);
    return codes;
  }

  IntegerModel model_;
  uint32_t state_;
};

}  // namespace apot::deploy::test
