#include "deploy/kernels/acc_quantize/acc_quantize.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "deploy/kernels/requant/requant.h"
#include "deploy/kernels/row_pieces.h"

namespace apot::deploy {

namespace {

constexpr int32_t kMin = std::numeric_limits<int32_t>::min(), kMax = std::numeric_limits<int32_t>::max();

// The largest a in [INT32_MIN + 1, INT32_MAX] with f(sign x a) < t, INT32_MIN if none: f(sign x a) is
// non-decreasing in a, so a binary search over the range finds the boundary.
template <class F>
int32_t boundary(const F& f, int32_t sign, int32_t t) {
  const auto below = [&](int64_t a) { return f(static_cast<int32_t>(sign * a)) < t; };
  int64_t lo = int64_t{kMin} + 1, hi = kMax;  // invariant: the boundary lies in [lo - 1, hi]
  if (!below(lo)) return kMin;
  while (lo < hi) {  // below(lo) holds
    const int64_t mid = lo + (hi - lo + 1) / 2;
    if (below(mid)) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return static_cast<int32_t>(lo);
}

}  // namespace

AccQuantTable::AccQuantTable(const int32_t* multiplier, const uint8_t* shift, const int32_t* bias, bool relu,
                             int channels, int padded_channels, const ActQuantTable& act)
    : act_(&act), entries_((1 << act.steps) - 1) {
  if (!supports(act)) {
    throw std::invalid_argument(
        fmt::format("acc quantisation searches up to {} levels, the set has {}", 1 << kMaxSteps, act.levels));
  }
  if (padded_channels % 16 != 0 || padded_channels < channels) {
    throw std::invalid_argument(fmt::format("acc quantisation: {} padded channels for {}", padded_channels, channels));
  }
  thresholds_.assign(static_cast<size_t>(padded_channels) * entries_, kMax);
  signs_.assign(static_cast<size_t>(padded_channels), 1);
  for (int c = 0; c < channels; ++c) {
    const int32_t m = multiplier[c], b = bias[c];
    const int s = shift[c];
    const auto f = [&](int32_t acc) { return requant_output(acc, m, s, b, nullptr, relu); };
    signs_[c] = m < 0 ? -1 : 1;
    for (int j = 0; j < act.levels - 1; ++j) {
      thresholds_[at(c, j)] = boundary(f, signs_[c], act.thresholds[j]);
    }
  }
  make_int16(padded_channels);
}

size_t AccQuantTable::at(int channel, int j) const {
  return (static_cast<size_t>(channel / 16) * entries_ + j) * 16 + channel % 16;
}

void AccQuantTable::make_int16(int padded_channels) {
  int16_.assign(static_cast<size_t>(padded_channels / 16), 1);
  thresholds16_.assign(thresholds_.size(), 0);
  base16_.assign(static_cast<size_t>(padded_channels), 0);
  direction16_.assign(static_cast<size_t>(padded_channels), 1);
  for (int c = 0; c < padded_channels; ++c) {
    const bool negative = signs_[c] < 0;
    const auto lane = static_cast<size_t>(pack_lane(c));
    int base = negative ? entries_ : 0;
    direction16_[lane] = negative ? -1 : 1;
    for (int j = 0; j < entries_; ++j) {
      const int32_t b = thresholds_[at(c, j)];
      int64_t t = 32767;  // never exceeded
      if (b == kMin) {
        base += negative ? 0 : 1;  // always counted
      } else if (b == kMax) {
        base -= negative ? 1 : 0;  // never counted
      } else {
        t = negative ? -int64_t{b} - 1 : b;
        if (t < kInt16Low || t > kInt16High) int16_[c / 16] = 0;
      }
      // Clamped only for groups that do not fit, which never read them.
      thresholds16_[at(pack_lane(c), j)] = static_cast<int16_t>(std::clamp<int64_t>(t, -32768, 32767));
    }
    base16_[lane] = static_cast<int16_t>(base);
  }
}

int32_t acc_quantize_one(const AccQuantTable& t, int c, int32_t acc) {
  const int32_t a = t.signs(c)[0] * acc;
  int count = 0;
  for (int j = 0; j < t.act().levels - 1; ++j) count += a > t.thresholds(c / 16 * 16)[j * 16 + c % 16];
  return t.act().values[count];
}

namespace {

template <class T>
void quantize_rows(const AccQuantTable& t, const AccQuantRows& r) {
  for (int64_t p = 0; p < r.pixels; ++p) {
    const int32_t* acc = r.acc + p * r.acc_stride;
    T* out = static_cast<T*>(r.out) + p * r.out_stride;
    for (int c = 0; c < r.channels; ++c) out[c] = static_cast<T>(acc_quantize_one(t, r.channel + c, acc[c]));
  }
}

void quantize_row(const AccQuantTable& t, const AccQuantRows& r) {
  if (r.type == CodeType::U8) {
    quantize_rows<uint8_t>(t, r);
  } else {
    quantize_rows<int16_t>(t, r);
  }
}

}  // namespace

void acc_quantize_scalar(const AccQuantTable& t, const AccQuantRows& r) { acc_quantize_by_rows(quantize_row, t, r); }

void acc_quantize_by_rows(void (*kernel)(const AccQuantTable&, const AccQuantRows&), const AccQuantTable& t,
                          const AccQuantRows& r) {
  for_each_row_piece(
      r, [&](const AccQuantRows& piece) { kernel(t, piece); },
      [](AccQuantRows& piece, int64_t pixels) { piece.acc += pixels * piece.acc_stride; });
}

}  // namespace apot::deploy
