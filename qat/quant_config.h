// What a quantised network quantises and how: bit-widths, level scheme, and the quantiser of the
// weights and of the activations (the paper's method and its baselines, qat/quantizers.inc) with the
// switches that adjust their pieces. Plain data, no LibTorch.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/levels.h"
#include "core/project.h"
#include "qat/quantizers.h"

namespace apot::qat {

struct QuantConfig {
  int weight_bits = 32;   // 32: full precision
  int act_bits = 32;
  Scheme scheme = Scheme::APoT;  // the levels of quantisers with Levels::Scheme (activations: Lloyd is APoT)
  std::optional<Scheme> act_scheme_override;  // RCF activations on other levels (e.g. APoT weights, uniform activations)
  int k = 2;                     // APoT base bit-width (the paper's choice, also the reference's)
  WeightQuantizer weight_quantizer = WeightQuantizer::Rcf;
  ActQuantizer act_quantizer = ActQuantizer::Rcf;
  bool weight_norm = true;       // Eq. 9 where the weight quantiser's pieces have it (false: --no-wn)
  bool per_channel = false;      // one learned weight alpha per output channel
  // The public reference implementation's conventions (DESIGN.md): unbiased std and no eps in WN, no
  // gradient through the WN statistics, activations clipped from above only, 8-bit edge layers scaled
  // by max(w) rather than max |w|.
  bool reference_compat = false;
  float weight_alpha_init = 3.0f;  // paper section 4 / reference: 3.0 for normalised weights
  float act_alpha_init = 8.0f;
  int edge_bits = 8;               // first conv and last fc (paper section 4.1)
  float wn_eps = 1e-5f;

  bool quantizes_weights() const { return weight_bits < 32; }
  bool quantizes_acts() const { return act_bits < 32; }
  // Each side's pieces: its quantiser's row, with weight normalisation off where weight_norm is.
  Pieces weight_pieces() const;
  Pieces act_pieces() const;
  // The level scheme each side really uses: the baselines bring uniform levels, and Lloyd levels are
  // fitted to weights only (activations then use APoT).
  Scheme weight_scheme() const;
  Scheme act_scheme() const;
  // Each side's level set at threshold 1, from its scheme, bits and k (Lloyd: uniform until fitted).
  LevelSet weight_levels() const;
  LevelSet act_levels() const;
  // The most magnitude bits an APoT side splits into k-bit terms (weights: bits - 1; activations: bits),
  // 0 where no side uses APoT levels: k must lie in 1..this. Each side caps k at its own bits.
  int apot_magnitude_bits() const;
  // The first conv and last fc (paper section 4.1): weights at edge_bits, uniform, alpha = max |W|
  // (the reference: max W), activations left in float. Quantised whenever the body's weights are, and
  // always in reference-compatible mode (the reference's 32-bit model has them too).
  bool quantizes_edges() const { return quantizes_weights() || reference_compat; }
  QuantConfig edge_config() const;
  // Throws std::invalid_argument naming the field for combinations that cannot work.
  void validate() const;
  std::string describe() const;

  // What a checkpoint records of it, one field a string; from_record reads it back (errors name `source`
  // and the field). Only the fields the command line sets: the rest keep their defaults.
  std::map<std::string, std::string> record() const;
  static QuantConfig from_record(const std::map<std::string, std::string>& record, const std::string& source);
  // The recorded fields in which `other` differs: {field, this one's value, the other's}, for errors.
  std::vector<std::array<std::string, 3>> differences(const QuantConfig& other) const;
};

// Reference-compatible mode decides between levels as the reference's float32 argmin does.
inline Midpoints midpoints(const QuantConfig& c) { return c.reference_compat ? Midpoints::Float32Argmin : Midpoints::Exact; }

// Sets both sides' quantisers from a --quantizer name (kQuantizerNames). Throws std::invalid_argument
// listing the names.
void apply_quantizer_name(std::string_view name, QuantConfig* config);

}  // namespace apot::qat
