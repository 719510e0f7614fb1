// Requantisation and activation quantisation in one step, on the convolution's accumulators: for a
// convolution without a residual whose stream only activation quantisers read (the first conv of every
// residual block), the stream value is y = f_c(acc) = relu(sat32(round_shift(acc x m_c, s_c) + b_c))
// (deploy/kernels/requant/requant.h), monotone in acc for each channel c (non-decreasing for m_c >= 0, non-increasing
// for m_c < 0). So the count of RCF's thresholds (paper Eq. 7, deploy/kernels/act_quantize/act_quantize.h) that y reaches,
// #{ j : f_c(acc) >= t_j }, equals #{ j : sign_c x acc > B_j[c] } with
//   B_j[c] = the largest a (in sign_c x acc) with f_c(a) < t_j,
// found once per layer by a binary search over the int32 range with the reference formula. The kernel
// then needs neither the 64-bit multiply nor the stream: compares against per-channel thresholds.
// Exact for every accumulator but INT32_MIN, which deploy/format/validate.h's bound (|acc| < 2^31) excludes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "deploy/kernels/act_quantize/act_quantize.h"

namespace apot::deploy {

class AccQuantTable {
 public:
  // The SIMD kernels search up to 2^kMaxSteps levels this way (4-bit activations); larger sets keep
  // the two steps.
  static constexpr int kMaxSteps = 4;
  static bool supports(const ActQuantTable& act) { return act.steps <= kMaxSteps; }

  // Per-channel requant (channels entries, padded with zeros up to padded_channels, a multiple of 16)
  // composed with `act`, which must outlive the table. std::invalid_argument if !supports(act).
  AccQuantTable(const int32_t* multiplier, const uint8_t* shift, const int32_t* bias, bool relu, int channels,
                int padded_channels, const ActQuantTable& act);

  const ActQuantTable& act() const { return *act_; }
  // For 16 channels from `channel` (a multiple of 16): the P - 1 thresholds (P = 2^act().steps), each
  // as 16 lanes (padding entries above every accumulator: INT32_MAX), and the lanes' signs (-1 or +1).
  const int32_t* thresholds(int channel) const { return thresholds_.data() + channel * (entries_); }
  const int32_t* signs(int channel) const { return signs_.data() + channel; }

  // The same counts in int16, for the 16 channels from `channel` (a multiple of 16) where every finite
  // threshold (neither INT32_MIN, always exceeded, nor INT32_MAX, never) fits [-32767, 32766] after the
  // reflection below: the accumulators narrowed by a saturating pack (values past the int16 range pass
  // every such threshold or none, as they should) and compared as they are, no sign or clamp first.
  // A lane of a negative multiplier counts its thresholds from the top: -acc > B_j exactly when not
  // acc > -B_j - 1, so it compares acc with -B_j - 1 and its count is base - exceeded; a positive one's
  // is base + exceeded. The infinite thresholds compare as 32767 (never exceeded) and move into base:
  //   count = base - direction x S, S = the sum of the compares' -1s.
  // Every vector is in the order of the pack of channels 0-7 and 8-15: 0-3, 8-11, 4-7, 12-15.
  // The trained ResNet-20s' thresholds: -958 .. 8177 at 4 bits, -152 .. 586 at 3, -36 .. 80 at 2.
  static constexpr int32_t kInt16Low = -32767, kInt16High = 32766;
  bool int16(int channel) const { return int16_[channel / 16] != 0; }
  const int16_t* thresholds16(int channel) const { return thresholds16_.data() + channel * entries_; }
  const int16_t* base16(int channel) const { return base16_.data() + channel; }
  const int16_t* direction16(int channel) const { return direction16_.data() + channel; }
  // The lane of channel c (from a multiple of 16) in those vectors.
  static int pack_lane(int c) { return (c & ~15) | ((c & 4) << 1 | (c & 8) >> 1 | (c & 3)); }

 private:
  const ActQuantTable* act_;
  int entries_;                        // P - 1
  std::vector<int32_t> thresholds_;    // [channel / 16][P - 1][16]
  std::vector<int32_t> signs_;         // [channel]
  std::vector<uint8_t> int16_;         // [channel / 16]
  std::vector<int16_t> thresholds16_;  // [channel / 16][P - 1][16 in pack order], where int16_
  std::vector<int16_t> base16_, direction16_;  // [channel in pack order]

  // Threshold j of `channel` in thresholds_; at(pack_lane(c), j) is channel c's in thresholds16_.
  size_t at(int channel, int j) const;
  void make_int16(int padded_channels);
};

// Codes of `pixels` pixels of `channels` channels (from `channel`, a multiple of 16): accumulators in
// (stride acc_stride int32), codes out (stride out_stride elements of `type`, over row_ends).
struct AccQuantRows {
  const int32_t* acc = nullptr;
  int64_t acc_stride = 0;
  void* out = nullptr;
  int64_t out_stride = 0;
  CodeType type = CodeType::S16;
  int64_t pixels = 0;
  int channel = 0, channels = 0;
  RowEnds row_ends;
};

// The reference: the code of one accumulator of channel c.
int32_t acc_quantize_one(const AccQuantTable& t, int c, int32_t acc);
// The reference kernel; the SIMD ones are in deploy/kernels/kernel_table.h.
void acc_quantize_scalar(const AccQuantTable& t, const AccQuantRows& r);
// kernel(t, piece) for the pieces of r within one row each (no row ends): for kernels that do not
// follow row ends themselves.
void acc_quantize_by_rows(void (*kernel)(const AccQuantTable&, const AccQuantRows&), const AccQuantTable& t,
                          const AccQuantRows& r);

}  // namespace apot::deploy
