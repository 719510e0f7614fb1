#include "deploy/kernels/act_quantize/act_quantize.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "deploy/kernels/row_pieces.h"

namespace apot::deploy {

ActQuantTable::ActQuantTable(const int32_t* thresholds_in, const int16_t* values_in, int levels_in)
    : levels(levels_in) {
  if (levels < 2 || levels > kMaxLevels) {
    throw std::invalid_argument(fmt::format("act_quant: {} levels, expected 2..{}", levels, kMaxLevels));
  }
  while ((1 << steps) < levels) ++steps;
  const int padded = 1 << steps;
  for (int j = 0; j < padded; ++j) {
    if (j < levels - 1) {
      if (j > 0 && !(thresholds_in[j - 1] < thresholds_in[j])) {
        throw std::invalid_argument(fmt::format("act_quant: thresholds[{}] = {} after {}, expected strictly ascending",
                                                j, thresholds_in[j], thresholds_in[j - 1]));
      }
      thresholds[j] = thresholds_in[j];
    } else {
      // Above every real threshold, so a count that reaches the padding selects the last value again.
      thresholds[j] = std::numeric_limits<int32_t>::max();
    }
    const int v = values_in[std::min(j, levels - 1)];
    if (v < 0 || (j > 0 && j < levels && v < values_in[j - 1])) {
      throw std::invalid_argument(fmt::format("act_quant: values[{}] = {}, expected ascending values >= 0", j, v));
    }
    values[j] = v;
  }
  std::fill(thresholds + padded, thresholds + kMaxLevels, std::numeric_limits<int32_t>::max());
  std::fill(values + padded, values + kMaxLevels, values[padded - 1]);

  std::fill(&small_candidates[0][0], &small_candidates[0][0] + kMaxSmallSteps * 8, 0);
  std::fill(small_values, small_values + 16, 0);
  if (steps > kMaxSmallSteps) return;
  for (int l = 0; l < steps; ++l) {
    const int step = 1 << (steps - 1 - l);
    for (int p = 0; p < (1 << l); ++p) small_candidates[l][(1 << l) - 1 - p] = thresholds[p * 2 * step + step - 1];
  }
  std::fill(small_candidates[0] + 1, small_candidates[0] + 8, small_candidates[0][0]);
  for (int i = 0; i < padded; ++i) small_values[padded - 1 - i] = values[i];
}

int32_t act_quantize_one(const ActQuantTable& t, int32_t x) {
  // upper_bound: the first threshold > x, so its index counts the thresholds <= x.
  return t.values[std::upper_bound(t.thresholds, t.thresholds + t.levels - 1, x) - t.thresholds];
}

namespace {

template <class T>
void quantize_rows(const ActQuantTable& t, const ActQuantRows& r) {
  for (int64_t p = 0; p < r.pixels; ++p) {
    const int32_t* in = r.in + p * r.in_stride;
    T* out = static_cast<T*>(r.out) + p * r.out_stride;
    for (int c = 0; c < r.channels; ++c) out[c] = static_cast<T>(act_quantize_one(t, in[c]));
  }
}

void quantize_row(const ActQuantTable& t, const ActQuantRows& r) {
  if (r.type == CodeType::U8) {
    quantize_rows<uint8_t>(t, r);
  } else {
    quantize_rows<int16_t>(t, r);
  }
}

}  // namespace

void act_quantize_scalar(const ActQuantTable& t, const ActQuantRows& r) { act_quantize_by_rows(quantize_row, t, r); }

void act_quantize_by_rows(void (*kernel)(const ActQuantTable&, const ActQuantRows&), const ActQuantTable& t,
                          const ActQuantRows& r) {
  for_each_row_piece(
      r, [&](const ActQuantRows& piece) { kernel(t, piece); },
      [](ActQuantRows& piece, int64_t pixels) { piece.in += pixels * piece.in_stride; });
}

}  // namespace apot::deploy
