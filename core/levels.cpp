#include "core/levels.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace apot {

namespace {

constexpr int kMinBits = 2;
constexpr int kMaxBits = 8;

void check_bits(int bits, int max_bits = kMaxBits) {
  if (bits < kMinBits || bits > max_bits) {
    throw std::invalid_argument(
        fmt::format("bit-width b = {} is out of range: expected {}..{}", bits, kMinBits, max_bits));
  }
}

// Sum of 2^-e over the exponents: exact in double, since every set here spans fewer than 53 binary
// places within one level.
double power_sum(const std::vector<int>& exponents) {
  double sum = 0;
  for (int e : exponents) sum += std::ldexp(1.0, -e);
  return sum;
}

}  // namespace

std::string_view to_string(Scheme scheme) {
  switch (scheme) {
    case Scheme::Uniform: return "uniform";
    case Scheme::PoT: return "pot";
    case Scheme::APoT: return "apot";
    case Scheme::Lloyd: return "lloyd";
  }
  return "?";
}

Scheme parse_scheme(std::string_view name) {
  for (Scheme s : {Scheme::Uniform, Scheme::PoT, Scheme::APoT, Scheme::Lloyd}) {
    if (name == to_string(s)) return s;
  }
  throw std::invalid_argument(
      fmt::format("unknown scheme '{}': expected apot, pot, uniform or lloyd", name));
}

// Eq. 5 (k divides m = kn): term i takes the exponents i, i + n, ..., i + (2^k - 2) n, so the terms
// share the exponents 0, 1, 2, ... round-robin and no two terms share one.
//
// Eq. 6 (k = 2, m = 2n + 1): n terms {0, 2^-i, 2^-(i+n), 2^-(i+2n+1)} and one term {0, 2^-2n}: the
// round-robin of the n full terms, with the short term's exponent placed before the last round.
// For other k that do not divide m (m = kn + r) we generalise that rule: n full terms of k bits take all
// rounds but the last, then the short term of r bits takes its 2^r - 1 exponents, then the last round.
std::vector<Term> apot_terms(int magnitude_bits, int k) {
  if (k < 1 || k > magnitude_bits) {
    throw std::invalid_argument(fmt::format(
        "base bit-width k = {} is impossible for {} magnitude bits: expected 1..{}", k, magnitude_bits,
        magnitude_bits));
  }
  const int n = magnitude_bits / k;
  const int r = magnitude_bits % k;
  const int rounds = (1 << k) - 1;
  std::vector<Term> terms(n + (r > 0 ? 1 : 0));
  for (int i = 0; i < n; ++i) {
    terms[i].bits = k;
    terms[i].code_offset = magnitude_bits - k * (i + 1);
  }
  int exponent = 0;
  auto full_round = [&] {
    for (int i = 0; i < n; ++i) terms[i].exponents.push_back(exponent++);
  };
  const int rounds_before_short = r > 0 ? rounds - 1 : rounds;
  for (int round = 0; round < rounds_before_short; ++round) full_round();
  if (r > 0) {
    Term& short_term = terms.back();
    short_term.bits = r;
    short_term.code_offset = 0;
    for (int j = 0; j < (1 << r) - 1; ++j) short_term.exponents.push_back(exponent++);
    full_round();
  }
  return terms;
}

std::vector<int> exponents_of_code(const std::vector<Term>& terms, uint32_t magnitude_code) {
  int width = 0;
  for (const Term& t : terms) width += t.bits;
  if (width < 32 && (magnitude_code >> width) != 0) {
    throw std::out_of_range(
        fmt::format("magnitude code {} does not fit in the set's {} magnitude bits", magnitude_code, width));
  }
  std::vector<int> exponents;
  for (const Term& t : terms) {
    const uint32_t index = (magnitude_code >> t.code_offset) & ((1u << t.bits) - 1);
    if (index > 0) exponents.push_back(t.exponents[index - 1]);
  }
  std::sort(exponents.begin(), exponents.end());
  return exponents;
}

LevelSet LevelSet::additive(Scheme scheme, int bits, int k, bool is_signed, std::vector<Term> terms) {
  LevelSet set;
  set.scheme_ = scheme;
  set.bits_ = bits;
  set.k_ = k;
  set.is_signed_ = is_signed;
  set.terms_ = std::move(terms);

  const int m = set.magnitude_bits();
  int max_exponent = 0;
  for (const Term& t : set.terms_) max_exponent = std::max(max_exponent, t.exponents.back());
  std::vector<int> all_top;  // the largest level takes every term's largest power
  for (const Term& t : set.terms_) all_top.push_back(t.exponents.front());
  const double max_sum = power_sum(all_top);
  set.gamma_ = 1.0 / max_sum;
  set.shift_ = max_exponent;

  // Integer form: sum of 2^(shift - e); fits when the largest sum stays below 2^62 (sign bit aside).
  const int magnitude_integer_bits = static_cast<int>(std::floor(std::log2(max_sum))) + 1 + max_exponent;
  set.integer_bits_ = magnitude_integer_bits + (is_signed ? 1 : 0);
  set.has_integer_form_ = set.integer_bits_ <= 63;

  for (uint32_t code = 0; code < (1u << m); ++code) {
    Level level;
    level.code = code;
    level.exponents = exponents_of_code(set.terms_, code);
    level.value = power_sum(level.exponents) / max_sum;
    if (set.has_integer_form_) {
      for (int e : level.exponents) level.integer += int64_t{1} << (max_exponent - e);
    }
    set.magnitudes_.push_back(std::move(level));
  }
  std::sort(set.magnitudes_.begin(), set.magnitudes_.end(),
            [](const Level& a, const Level& b) { return a.value < b.value; });
  // Exact sums are always distinct; with a large k one level's terms can span more than a double's 53
  // bits, and then two levels round to one value.
  for (size_t i = 1; i < set.magnitudes_.size(); ++i) {
    if (set.magnitudes_[i].value == set.magnitudes_[i - 1].value) {
      throw std::invalid_argument(fmt::format(
          "base bit-width k = {} is impossible for {} magnitude bits: its terms reach 2^-{}, and levels "
          "that far apart are not distinct in double precision (use a smaller k)",
          k, m, max_exponent));
    }
  }
  set.add_signed_levels();
  return set;
}

// Signed sets: the sign bit sits above the magnitude bits; zero appears once, with code 0.
void LevelSet::add_signed_levels() {
  levels_.clear();
  if (is_signed_) {
    const uint32_t sign_bit = 1u << magnitude_bits();
    for (auto it = magnitudes_.rbegin(); it != magnitudes_.rend(); ++it) {
      if (it->value == 0) continue;
      Level negative = *it;
      negative.value = -it->value;
      negative.code = it->code | sign_bit;
      negative.integer = -it->integer;
      levels_.push_back(std::move(negative));
    }
  }
  levels_.insert(levels_.end(), magnitudes_.begin(), magnitudes_.end());
}

LevelSet LevelSet::uniform(int bits, bool is_signed) {
  check_bits(bits, kMaxUniformBits);
  const int m = bits - (is_signed ? 1 : 0);
  // Eq. 2 is fixed point: APoT with k = 1, each bit one power-of-two term (section 2.2).
  return additive(Scheme::Uniform, bits, 1, is_signed, apot_terms(m, 1));
}

LevelSet LevelSet::pot(int bits, bool is_signed) {
  check_bits(bits);
  const int m = bits - (is_signed ? 1 : 0);
  // Eq. 3 is APoT with one term of k = m bits: {0, 2^-(2^m - 2), ..., 2^-1, 1}.
  return additive(Scheme::PoT, bits, m, is_signed, apot_terms(m, m));
}

LevelSet LevelSet::apot(int bits, int k, bool is_signed) {
  check_bits(bits);
  const int m = bits - (is_signed ? 1 : 0);
  return additive(Scheme::APoT, bits, k, is_signed, apot_terms(m, k));
}

LevelSet LevelSet::lloyd(const std::vector<double>& magnitudes, int bits, bool is_signed) {
  check_bits(bits);
  LevelSet set;
  set.scheme_ = Scheme::Lloyd;
  set.bits_ = bits;
  set.is_signed_ = is_signed;
  const size_t count = size_t{1} << set.magnitude_bits();
  if (magnitudes.size() != count) {
    throw std::invalid_argument(fmt::format("Lloyd set of {} bits needs {} magnitudes, got {}", bits,
                                            count, magnitudes.size()));
  }
  if (magnitudes.front() != 0.0) {
    throw std::invalid_argument("Lloyd magnitudes must start with the level 0");
  }
  for (size_t i = 0; i < count; ++i) {
    const double v = magnitudes[i];
    if (!std::isfinite(v) || v < 0 || v > 1 || (i > 0 && !(v > magnitudes[i - 1]))) {
      throw std::invalid_argument(fmt::format(
          "Lloyd magnitude {} = {} is invalid: expected strictly ascending values in [0, 1]", i, v));
    }
    Level level;
    level.value = v;
    level.code = static_cast<uint32_t>(i);
    set.magnitudes_.push_back(level);
  }
  set.add_signed_levels();
  return set;
}

LevelSet LevelSet::make(Scheme scheme, int bits, int k, bool is_signed) {
  switch (scheme) {
    case Scheme::Uniform: return uniform(bits, is_signed);
    case Scheme::PoT: return pot(bits, is_signed);
    case Scheme::APoT: {
      check_bits(bits);
      const int m = bits - (is_signed ? 1 : 0);
      return apot(bits, k == 0 ? std::min(2, m) : k, is_signed);
    }
    case Scheme::Lloyd:
      throw std::invalid_argument("Lloyd levels are fitted to data: use lloyd_max_magnitudes()");
  }
  throw std::invalid_argument("unknown scheme");
}

std::vector<double> LevelSet::values() const {
  std::vector<double> v;
  v.reserve(levels_.size());
  for (const Level& l : levels_) v.push_back(l.value);
  return v;
}

std::string LevelSet::describe() const {
  std::string s = fmt::format("{}, {} bits ({})", to_string(scheme_), bits_, is_signed_ ? "signed" : "unsigned");
  if (scheme_ == Scheme::APoT) s += fmt::format(", k = {}", k_);
  return s;
}

}  // namespace apot
