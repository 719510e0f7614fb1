#include "core/codec.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace apot {

namespace {

void require_integer_form(const LevelSet& set) {
  if (!set.has_integer_form()) {
    throw std::logic_error(fmt::format("the level set '{}' has no integer form ({})", set.describe(),
                                       set.scheme() == Scheme::Lloyd ? "Lloyd levels are not dyadic"
                                                                     : "its integers need over 63 bits"));
  }
}

}  // namespace

const Level& decode(const LevelSet& set, uint32_t code) {
  const int m = set.magnitude_bits();
  const uint32_t magnitude = code & ((1u << m) - 1);
  const bool negative = set.is_signed() && ((code >> m) & 1u);
  if ((code >> set.bits()) != 0) {
    throw std::out_of_range(fmt::format("code {} is wider than the {} bits of '{}'", code, set.bits(),
                                        set.describe()));
  }
  if (negative && magnitude == 0) {
    throw std::out_of_range(fmt::format("code {} is the unused negative zero of '{}'", code, set.describe()));
  }
  // Magnitude codes are a permutation of 0 .. 2^m - 1; index them through the magnitudes.
  const auto& mags = set.magnitudes();
  const auto it = std::find_if(mags.begin(), mags.end(), [&](const Level& l) { return l.code == magnitude; });
  if (!negative) return *it;
  const auto& levels = set.levels();
  return levels[levels.size() / 2 - static_cast<size_t>(it - mags.begin())];
}

const Level& find_level(const LevelSet& set, double value) {
  const auto& levels = set.levels();
  const auto it = std::lower_bound(levels.begin(), levels.end(), value,
                                   [](const Level& l, double v) { return l.value < v; });
  if (it == levels.end() || it->value != value) {
    throw std::invalid_argument(fmt::format("{} is not a level of '{}'", value, set.describe()));
  }
  return *it;
}

int64_t to_integer(const LevelSet& set, double value) {
  require_integer_form(set);
  return find_level(set, value).integer;
}

double from_integer(const LevelSet& set, int64_t integer) {
  require_integer_form(set);
  const auto& levels = set.levels();
  const auto it = std::lower_bound(levels.begin(), levels.end(), integer,
                                   [](const Level& l, int64_t i) { return l.integer < i; });
  if (it == levels.end() || it->integer != integer) {
    throw std::invalid_argument(
        fmt::format("{} is not the integer form of any level of '{}'", integer, set.describe()));
  }
  return it->value;
}

}  // namespace apot
