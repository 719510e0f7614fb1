// Requantisation and activation quantisation in one step, on the convolution's accumulators: for a
// convolution without a residual whose stream only activation quantisers read (the first conv of every
// residual block), the stream value is y = f_c(acc) = relu(sat32(round_shift(acc x m_c, s_c) + b_c))
// (deploy/requant.h), monotone in acc for each channel c (non-decreasing for m_c >= 0, non-increasing
// for m_c < 0). So the count of RCF's thresholds (paper Eq. 7, deploy/act_quantize.h) that y reaches,
// #{ j : f_c(acc) >= t_j }, equals #{ j : sign_c x acc > B_j[c] } with
//   B_j[c] = the largest a (in sign_c x acc) with f_c(a) < t_j,
// found once per layer by a binary search over the int32 range with the reference formula. The kernel
// then needs neither the 64-bit multiply nor the stream: compares against per-channel thresholds.
// Exact for every accumulator but INT32_MIN, which deploy/validate.h's bound (|acc| < 2^31) excludes.
#pragma once

#include <cstdint>
#include <vector>

#include "core/cpu_features.h"
#include "deploy/act_quantize.h"

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

  // The same counts in int16, for the 16 channels from `channel` (a multiple of 16) where every one's
  // finite thresholds (neither INT32_MIN, always exceeded, nor INT32_MAX, never) span at most
  // kMaxInt16Span: the signed accumulator clamped to [low, high] (the smallest finite threshold and the
  // largest plus one) loses no count, and less low it lies in [0, kMaxInt16Span + 1 = 32767]; the
  // thresholds less low, INT32_MIN as -32768 and INT32_MAX as 32767, keep every compare. The trained
  // ResNet-20s' spans: 1139-6824 at 4 bits, 11-48 at 2 bits.
  static constexpr int64_t kMaxInt16Span = 32766;
  bool int16(int channel) const { return int16_[channel / 16] != 0; }
  const int16_t* thresholds16(int channel) const { return thresholds16_.data() + channel * entries_; }
  const int32_t* low(int channel) const { return low_.data() + channel; }
  const int32_t* high(int channel) const { return high_.data() + channel; }

 private:
  const ActQuantTable* act_;
  int entries_;                        // P - 1
  std::vector<int32_t> thresholds_;    // [channel / 16][P - 1][16]
  std::vector<int32_t> signs_;         // [channel]
  std::vector<uint8_t> int16_;         // [channel / 16]
  std::vector<int16_t> thresholds16_;  // [channel / 16][P - 1][16], where int16_
  std::vector<int32_t> low_, high_;    // [channel]

  size_t at(int channel, int j) const;  // of threshold j of `channel` in thresholds_ and thresholds16_
  void make_int16(int padded_channels);
};

// Codes of `pixels` pixels of `channels` channels (from `channel`, a multiple of 16): accumulators in
// (stride in_stride int32), codes out (stride out_stride elements of `type`).
struct AccQuantRows {
  const int32_t* acc = nullptr;
  int64_t acc_stride = 0;
  void* out = nullptr;
  int64_t out_stride = 0;
  CodeType type = CodeType::S16;
  int64_t pixels = 0;
  int channel = 0, channels = 0;
};

// The reference: the code of one accumulator of channel c.
int32_t acc_quantize_one(const AccQuantTable& t, int c, int32_t acc);
void acc_quantize_scalar(const AccQuantTable& t, const AccQuantRows& r);
// The caller checks the CPU.
void acc_quantize_avx2(const AccQuantTable& t, const AccQuantRows& r);
void acc_quantize_avx512(const AccQuantTable& t, const AccQuantRows& r);

}  // namespace apot::deploy
