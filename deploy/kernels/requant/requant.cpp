#include "deploy/kernels/requant/requant.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace apot::deploy {

RequantTable::RequantTable(const int32_t* multiplier, const uint8_t* shift, const int32_t* bias, int channels,
                           int padded_channels, const AccRange* acc_range)
    : multiplier_(static_cast<size_t>(padded_channels)),
      round_(static_cast<size_t>(padded_channels)),
      shift_(static_cast<size_t>(padded_channels)),
      bias_(static_cast<size_t>(padded_channels)),
      lanes8_(static_cast<size_t>((padded_channels + 7) / 8)),
      unsaturated_(acc_range != nullptr) {
  constexpr int64_t kMaxAcc = std::numeric_limits<int32_t>::max();
  for (int c = 0; c < channels; ++c) {
    if (shift[c] > 62) throw std::invalid_argument(fmt::format("requant.shift[{}] = {}, expected 0..62", c, shift[c]));
    multiplier_[c] = multiplier[c];
    shift_[c] = shift[c];
    round_[c] = shift[c] == 0 ? 0 : int64_t{1} << (shift[c] - 1);
    bias_[c] = bias[c];
    if (acc_range != nullptr) {
      // Monotone in acc: the range's ends give the extremes of the result.
      for (const int64_t end : {acc_range[c].min, acc_range[c].max}) {
        const int32_t acc = static_cast<int32_t>(std::clamp(end, -kMaxAcc, kMaxAcc));
        const int64_t y = round_shift(int64_t{acc} * multiplier[c], shift[c]) + bias[c];
        unsaturated_ = unsaturated_ && y == saturate32(y);
      }
    }
  }
  for (int c = 0; c < padded_channels; ++c) {
    RequantLanes8& l = lanes8_[c / 8];
    const int lane = c % 2 * 4 + c % 8 / 2;  // even channels in lanes 0-3, odd ones in 4-7
    const int64_t offset = int64_t{1} << (62 - shift_[c]);
    l.multiplier[lane] = multiplier_[c];
    l.offset[lane] = round_[c] + (int64_t{1} << 62);
    l.shift[lane] = shift_[c];
    l.bias[lane] = bias_[c] - offset;
    l.bias32[c % 8] = static_cast<int32_t>(static_cast<uint32_t>(bias_[c] - offset));
  }
}

void requant_rows_scalar(const RequantView& rq, const RequantRows& r) {
  for (int64_t i = 0; i < r.rows; ++i) {
    const int32_t* acc = r.acc + i * r.acc_stride;
    const int32_t* res = r.residual != nullptr ? r.residual + i * r.residual_stride : nullptr;
    int32_t* out = r.out + i * r.out_stride;
    for (int c = 0; c < r.channels; ++c) {
      out[c] = requant_output(acc[c], static_cast<int32_t>(rq.multiplier[c]), static_cast<int>(rq.shift[c]),
                              static_cast<int32_t>(rq.bias[c]), res != nullptr ? res + c : nullptr, r.relu);
    }
  }
}

}  // namespace apot::deploy
