// The integer model: what `apot export` produces, the .apot file stores and the integer engine runs.
//
// A straight-line program over numbered buffers. Between the input quantiser and the logits everything
// is integer: activations are the exact integer form of their levels (core/codec: level * 2^shift
// / gamma), weights are level codes, convolutions accumulate in int32, and batch norm, the scales of
// weights and activations are folded into per-channel fixed-point requantisation. The one float step at
// each end is the input quantiser and the logits' dequantisation.
//
// Buffers: each op reads and writes buffers by index. Buffer 0 holds the quantised input. Two element
// types exist: codes (int16: the exact integers the next convolution multiplies) and streams (int32 fixed
// point, value = stream * 2^-frac_bits, the form of the residual path between layers). Shapes are NCHW and
// follow from the input shape and the ops.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/levels.h"

namespace apot::deploy {

// Which level set a weight tensor's codes index (core/levels: LevelSet::make(scheme, bits, k, is_signed)).
// Lloyd sets have no integer form and cannot be exported. Weights are 2..8 bits, uniform ones up to 16.
struct LevelSetSpec {
  Scheme scheme = Scheme::APoT;
  int bits = 4;       // total, sign included for signed sets
  int k = 2;          // APoT base bit-width (ignored by uniform and PoT)
  bool is_signed = true;
  LevelSet make() const { return LevelSet::make(scheme, bits, k, is_signed); }
};

// A weight's code in its level set (core/codec), one per element in memory, packed at the set's
// bit-width in the file.
using WeightCode = uint16_t;

// Buffer 0 from the float input x (already normalised like the network's training input: the engine
// does not apply mean and std): code = clamp(round_half_away(x / scale), -32767, 32767). Inputs beyond
// +-32767 * scale are refused by the engine with an error (they would be clipped). For images of 8-bit
// pixels export picks a scale on which every normalised pixel value is an integer to float precision
// (deploy/export/export.h, pixel_input_grid), so the quantiser adds no error of its own.
struct InputQuant {
  double scale = 1.0;
  // Per channel, for users who feed raw images in [0, 1]: x = (pixel - mean) / std.
  std::vector<double> mean, std;
};

// codes[out] = values[j] where j = number of thresholds t with in >= t (thresholds ascending): the
// nearest-level projection of RCF (Eq. 7) on the unsigned activation levels, with the clip to
// [0, alpha] folded into the first and last threshold. Reads a stream, writes codes.
struct ActQuantOp {
  int input = 0, output = 0;
  std::vector<int32_t> thresholds;  // L - 1, ascending, in stream units
  std::vector<int16_t> values;      // L, ascending, values[0] = 0: exact integers of the levels
  LevelSetSpec levels;              // informative: the unsigned set the values come from
  double alpha = 0;                 // informative: the learned clipping threshold
};

// Per output channel c: y = sat32(round_shift(int64(acc) * multiplier[c], shift[c]) + bias[c]),
// round_shift(v, s) = (v + 2^(s-1)) >> s (arithmetic; v itself for s = 0), sat32 clamps to int32.
struct Requant {
  std::vector<int32_t> multiplier;
  std::vector<uint8_t> shift;  // 0..62
  std::vector<int32_t> bias;   // stream units
};

// Conv2d over codes, int32 accumulation, then requant to a stream; then, if residual >= 0, the stream of
// that buffer (same shape) is added with saturation; then ReLU if relu. Weights are level codes of
// `levels`, shape [out_channels][in_channels][kernel][kernel] (groups = 1).
struct ConvOp {
  int input = 0, output = 0, residual = -1;
  int in_channels = 0, out_channels = 0, kernel = 1, stride = 1, padding = 0;
  LevelSetSpec levels;
  std::vector<WeightCode> codes;
  Requant requant;
  bool relu = false;
  std::string name;                 // state_dict prefix, e.g. "layer1.0.conv1"
  std::vector<double> weight_alpha; // informative: 1 or out_channels thresholds, weight = alpha x level
};

// Max pooling over a stream (padding never wins).
struct MaxPoolOp {
  int input = 0, output = 0;
  int kernel = 3, stride = 2, padding = 1;
};

// The last layer: global average pooling and a linear layer on a stream, the float input of the
// reference's last fc. acc[o] = sum_c (sum_hw in[c, h, w]) * w_int[o][c] in int64, and the logits are
// acc[o] * scale[o] + bias[o] (the 1 / (H * W) of the average folded into scale): the output
// dequantisation. Weights are codes of `levels`, shape [out_features][in_features].
struct AvgPoolLinearOp {
  int input = 0;
  int in_features = 0, out_features = 0;
  LevelSetSpec levels;
  std::vector<WeightCode> codes;
  std::vector<double> scale, bias;  // per output
  std::string name;
};

using Op = std::variant<ActQuantOp, ConvOp, MaxPoolOp, AvgPoolLinearOp>;

struct IntegerModel {
  // Metadata: what it was exported from.
  std::string arch;          // e.g. "resnet20"
  std::string description;   // the quantisation, e.g. QuantConfig::describe()
  int weight_bits = 0, act_bits = 0;
  bool reference_compat = false;
  int in_channels = 0, height = 0, width = 0, num_classes = 0;

  int frac_bits = 16;        // streams hold value * 2^frac_bits
  InputQuant input;
  int buffer_count = 1;
  std::vector<Op> ops;       // in execution order; the last is the AvgPoolLinearOp
};

}  // namespace apot::deploy
