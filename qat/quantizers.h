// The quantisers of qat/quantizers.inc, one table row each (in the spirit of ggml's type traits): an enum
// per side whose values index the rows, each row the quantiser's name, pieces (qat/pieces.h) and
// description, and the --quantizer names that pick one quantiser for each side. Parsing, describing,
// recording, validating and the quantisers themselves all read these rows. Plain data, no LibTorch.
#pragma once

#include <cstddef>
#include <string_view>

#include "qat/pieces.h"

namespace apot::qat {

// How weights become levels.
enum class WeightQuantizer {
#define APOT_WEIGHT_QUANTIZER(Id, ...) Id,
#include "qat/quantizers.inc"
};

// How activations become levels.
enum class ActQuantizer {
#define APOT_ACT_QUANTIZER(Id, ...) Id,
#include "qat/quantizers.inc"
};

template <typename Id>
struct QuantizerRow {
  Id id;
  std::string_view name;  // in checkpoints (QuantConfig::record) and in messages
  Pieces pieces;
  std::string_view description;
};

inline constexpr QuantizerRow<WeightQuantizer> kWeightQuantizers[] = {
#define APOT_WEIGHT_QUANTIZER(Id, name, levels, sign, normalization, threshold, gradient, description)             \
  {WeightQuantizer::Id, name,                                                                                      \
   {Levels::levels, Sign::sign, Normalization::normalization, Threshold::threshold, Gradient::gradient}, description},
#include "qat/quantizers.inc"
};

inline constexpr QuantizerRow<ActQuantizer> kActQuantizers[] = {
#define APOT_ACT_QUANTIZER(Id, name, levels, threshold, gradient, description)                                      \
  {ActQuantizer::Id, name,                                                                                         \
   {Levels::levels, Sign::Unsigned, Normalization::None, Threshold::threshold, Gradient::gradient}, description},
#include "qat/quantizers.inc"
};

// A --quantizer name: the quantiser of each side.
struct QuantizerName {
  std::string_view name;
  WeightQuantizer weights;
  ActQuantizer activations;
  std::string_view description;
};

inline constexpr QuantizerName kQuantizerNames[] = {
#define APOT_QUANTIZER_NAME(name, weights, activations, description) \
  {name, WeightQuantizer::weights, ActQuantizer::activations, description},
#include "qat/quantizers.inc"
};

constexpr const QuantizerRow<WeightQuantizer>& row(WeightQuantizer q) { return kWeightQuantizers[static_cast<size_t>(q)]; }
constexpr const QuantizerRow<ActQuantizer>& row(ActQuantizer q) { return kActQuantizers[static_cast<size_t>(q)]; }

inline std::string_view to_string(WeightQuantizer q) { return row(q).name; }
inline std::string_view to_string(ActQuantizer q) { return row(q).name; }

// The rows' pieces fit together (checked at compile time). A learned threshold learns through its
// gradient rule, a computed one passes the input's gradient only; DoReFa's tanh maps into [0, 1], onto
// unsigned levels at threshold 1; the layer owns the activations' threshold (act_alpha), learned from a
// constant start, or they clip at 1.
constexpr bool gradient_fits_threshold(const Pieces& p) { return is_learned(p.threshold) != (p.gradient == Gradient::Ste); }
constexpr bool rows_fit_together() {
  for (const auto& r : kWeightQuantizers) {
    const Pieces& p = r.pieces;
    if (!gradient_fits_threshold(p)) return false;
    if (p.normalization == Normalization::Tanh && (p.sign != Sign::Unsigned || p.threshold != Threshold::Unit)) return false;
  }
  for (const auto& r : kActQuantizers) {
    const Pieces& p = r.pieces;
    if (!gradient_fits_threshold(p)) return false;
    if (p.threshold != Threshold::Learned && p.threshold != Threshold::Unit) return false;
  }
  return true;
}
static_assert(rows_fit_together(), "a row of qat/quantizers.inc combines pieces that do not fit together");

}  // namespace apot::qat
