// Requantisation of a convolution's int32 accumulators to the int32 stream (deploy/format/integer_model.h,
// Requant and ConvOp): batch norm and the scales of weights and activations folded into one fixed-point
// multiplier per output channel, then the residual add and ReLU of the block:
//   y = sat32(round_shift(int64(acc) * multiplier[c], shift[c]) + bias[c]),
//   y = sat32(y + residual)   (when the conv has a residual),   y = max(y, 0)   (when relu).
// The scalar formula below is the reference; the row kernels apply it to a block of outputs, and the SIMD
// ones must give the same bits (tests/deploy/kernels/requant_test.cpp).
#pragma once

#include <cstdint>
#include <limits>
#include <vector>


namespace apot::deploy {

// (v + 2^(s-1)) >> s, arithmetic; v for s = 0. |v| <= 2^62 and s <= 62 keep the sum inside int64.
inline int64_t round_shift(int64_t v, int shift) { return shift == 0 ? v : (v + (int64_t{1} << (shift - 1))) >> shift; }

inline int32_t saturate32(int64_t v) {
  constexpr int64_t lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max();
  return static_cast<int32_t>(v < lo ? lo : v > hi ? hi : v);
}

inline int32_t requant_one(int32_t acc, int32_t multiplier, int shift, int32_t bias) {
  return saturate32(round_shift(int64_t{acc} * multiplier, shift) + bias);
}

// One output of a conv: requant, then the residual (if any) and ReLU (if relu).
inline int32_t requant_output(int32_t acc, int32_t multiplier, int shift, int32_t bias, const int32_t* residual,
                              bool relu) {
  int32_t y = requant_one(acc, multiplier, shift, bias);
  if (residual != nullptr) y = saturate32(int64_t{y} + *residual);
  return relu && y < 0 ? 0 : y;
}

// The parameters of 8 channels in the order of AVX2's 64-bit lanes (requant_avx2.cpp): vpmuldq multiplies
// the even int32 lanes, so the channels of the even lanes (0, 2, 4, 6) come first, then the odd ones
// (1, 3, 5, 7); the rounding offset and the bias already in the logical-shift form,
//   round_shift(v, s) + bias = ((v + round + 2^62) >>> s) + bias - 2^(62 - s),
// and that bias also as an int32 in channel order, which is all the form needs where it cannot saturate
// (the true value fits int32, so its low 32 bits are the result).
struct RequantLanes8 {
  int64_t multiplier[8], offset[8], shift[8], bias[8];  // offset: round + 2^62; bias: bias - 2^(62 - s)
  int32_t bias32[8];                                    // bias - 2^(62 - s) mod 2^32
};

// Per-channel parameters as the kernels read them, widened to int64 so that a SIMD lane loads its
// channel's values directly: round = 2^(shift - 1) (0 for shift 0). `lanes8`: the same per 8 channels
// in AVX2's order. `unsaturated`: no channel's requant (before any residual) leaves int32 for the
// accumulators the table was given bounds for, so kernels may drop the saturation.
struct RequantView {
  const int64_t* multiplier = nullptr;
  const int64_t* round = nullptr;
  const int64_t* shift = nullptr;
  const int64_t* bias = nullptr;
  const RequantLanes8* lanes8 = nullptr;
  bool unsaturated = false;
};

// The accumulators one output channel can produce: min <= acc <= max.
struct AccRange {
  int64_t min = 0, max = 0;
};

// Owns the widened parameters of one layer, padded with zeros (outputs 0) up to `padded_channels`.
class RequantTable {
 public:
  RequantTable() = default;
  // shift[c] <= 62 (deploy/format/validate.h checks it); throws std::invalid_argument otherwise. acc_range
  // (optional, per channel): the range of every accumulator the kernels will be given.
  RequantTable(const int32_t* multiplier, const uint8_t* shift, const int32_t* bias, int channels, int padded_channels,
               const AccRange* acc_range = nullptr);
  RequantView view() const {
    return {multiplier_.data(), round_.data(), shift_.data(), bias_.data(), lanes8_.data(), unsaturated_};
  }

 private:
  std::vector<int64_t> multiplier_, round_, shift_, bias_;
  std::vector<RequantLanes8> lanes8_;
  bool unsaturated_ = false;
};

// A block of outputs: rows of `channels` accumulators (row stride acc_stride) into rows of the stream
// (row stride out_stride), the residual (when not null) read with its own row stride.
struct RequantRows {
  const int32_t* acc = nullptr;
  int64_t acc_stride = 0;
  const int32_t* residual = nullptr;
  int64_t residual_stride = 0;
  int32_t* out = nullptr;
  int64_t out_stride = 0;
  int64_t rows = 0;
  int channels = 0;
  bool relu = false;
};

// The reference kernel; the SIMD ones (deploy/kernels/kernel_table.h) take channels in multiples of
// their vector's int32 lanes (8 for AVX2, 16 for AVX-512).
void requant_rows_scalar(const RequantView& rq, const RequantRows& r);

}  // namespace apot::deploy
