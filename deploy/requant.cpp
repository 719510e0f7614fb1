#include "deploy/requant.h"

#include <fmt/format.h>

#include <stdexcept>

namespace apot::deploy {

RequantTable::RequantTable(const int32_t* multiplier, const uint8_t* shift, const int32_t* bias, int channels,
                           int padded_channels)
    : multiplier_(static_cast<size_t>(padded_channels)),
      round_(static_cast<size_t>(padded_channels)),
      shift_(static_cast<size_t>(padded_channels)),
      bias_(static_cast<size_t>(padded_channels)) {
  for (int c = 0; c < channels; ++c) {
    if (shift[c] > 62) throw std::invalid_argument(fmt::format("requant.shift[{}] = {}, expected 0..62", c, shift[c]));
    multiplier_[c] = multiplier[c];
    shift_[c] = shift[c];
    round_[c] = shift[c] == 0 ? 0 : int64_t{1} << (shift[c] - 1);
    bias_[c] = bias[c];
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

void requant_rows(IsaLevel isa, const RequantView& rq, const RequantRows& r) {
  switch (isa) {
    case IsaLevel::Scalar:
      requant_rows_scalar(rq, r);
      return;
    case IsaLevel::Avx2:
      requant_rows_avx2(rq, r);
      return;
    case IsaLevel::Avx512Vnni:
      requant_rows_avx512(rq, r);
      return;
  }
}

}  // namespace apot::deploy
