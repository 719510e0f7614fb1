// Quantisation level sets of the APoT paper (Li, Dong, Wang, ICLR 2020), section 2.
//
// Every set is normalised so that its largest level is 1 (the clipping threshold alpha = 1); a layer's
// levels are alpha times these. Signed sets spend one bit on the sign and are symmetric with zero once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace apot {

enum class Scheme { Uniform, PoT, APoT, Lloyd };

std::string_view to_string(Scheme scheme);
// Parses "uniform", "pot", "apot" or "lloyd"; throws std::invalid_argument naming the bad value.
Scheme parse_scheme(std::string_view name);

// One additive term p_i of Eq. 5 / Eq. 6. Its index, stored in `bits` bits of the code, selects
// 0 (index 0) or 2^-exponents[index - 1].
struct Term {
  int bits = 0;
  int code_offset = 0;          // position of the term's lowest bit inside the magnitude code
  std::vector<int> exponents;   // 2^bits - 1 distinct exponents, ascending
};

struct Level {
  double value = 0;             // normalised level in [-1, 1]
  uint32_t code = 0;            // sign bit (signed sets) above the terms' indices, term 0 highest
  int64_t integer = 0;          // value * 2^shift / gamma, exact; 0 where the set has no integer form
  std::vector<int> exponents;   // |value| = gamma * sum of 2^-e over these, ascending (largest term first)
};

// Terms of an APoT magnitude with `magnitude_bits` bits and base bit-width k (Eq. 5 when k divides the
// bits, Eq. 6 and its generalisation otherwise; see the comment in levels.cpp).
std::vector<Term> apot_terms(int magnitude_bits, int k);

class LevelSet {
 public:
  // Bits are the total bit-width b (2..8) including the sign bit of signed sets. Uniform sets go up to
  // kMaxUniformBits: the integer engine stores weights on a wider uniform grid where the reference's
  // 8-bit edge layers round beyond their own range (deploy/export/export.cpp).
  static constexpr int kMaxUniformBits = 16;
  static LevelSet uniform(int bits, bool is_signed);          // Eq. 2
  static LevelSet pot(int bits, bool is_signed);              // Eq. 3
  static LevelSet apot(int bits, int k, bool is_signed);      // Eq. 5, Eq. 6
  // Lloyd-Max levels (Table 3): `magnitudes` are 2^m ascending non-negative values in [0, 1] starting
  // with 0, as lloyd_max_magnitudes() fits them.
  static LevelSet lloyd(const std::vector<double>& magnitudes, int bits, bool is_signed);
  // k = 0 picks the default base bit-width, min(2, magnitude bits). Lloyd sets need data: use lloyd().
  static LevelSet make(Scheme scheme, int bits, int k, bool is_signed);

  Scheme scheme() const { return scheme_; }
  int bits() const { return bits_; }
  int magnitude_bits() const { return bits_ - (is_signed_ ? 1 : 0); }
  int base_bits() const { return k_; }  // k; 0 for Lloyd
  bool is_signed() const { return is_signed_; }
  const std::vector<Term>& terms() const { return terms_; }

  const std::vector<Level>& levels() const { return levels_; }          // ascending, zero once
  const std::vector<Level>& magnitudes() const { return magnitudes_; }  // ascending, from 0 to 1
  std::vector<double> values() const;

  // levels = gamma * {sums of terms}; 1 for Lloyd.
  double gamma() const { return gamma_; }
  // The exact integer form: level * 2^shift / gamma is an integer for every level (the smallest such
  // shift), and integer_bits() bits hold all of them, sign included. Lloyd sets have none, and neither
  // do PoT sets whose integers would not fit in 63 bits.
  bool has_integer_form() const { return has_integer_form_; }
  int shift() const { return shift_; }
  int integer_bits() const { return integer_bits_; }

  std::string describe() const;  // e.g. "apot, 4 bits (signed), k = 2"

 private:
  LevelSet() = default;
  static LevelSet additive(Scheme scheme, int bits, int k, bool is_signed, std::vector<Term> terms);
  void add_signed_levels();

  Scheme scheme_ = Scheme::APoT;
  int bits_ = 0;
  int k_ = 0;
  bool is_signed_ = false;
  std::vector<Term> terms_;
  std::vector<Level> levels_;
  std::vector<Level> magnitudes_;
  double gamma_ = 1;
  bool has_integer_form_ = false;
  int shift_ = 0;
  int integer_bits_ = 0;
};

// The exponents that a magnitude code selects, ascending. Throws std::out_of_range for a code wider
// than the terms.
std::vector<int> exponents_of_code(const std::vector<Term>& terms, uint32_t magnitude_code);

}  // namespace apot
