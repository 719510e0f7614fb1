// Exact conversions between a level, its code and its integer form (DESIGN.md, core/codec).
//
// code: b bits; for signed sets the top bit is the sign, below it each additive term's k-bit index,
// term 0 highest (so for k = 1 the code is the fixed-point integer itself). Lloyd codes are indices.
// integer: level * 2^shift / gamma, the form the integer engine multiplies with.
#pragma once

#include <cstdint>

#include "core/levels.h"

namespace apot {

// The level a code stands for. Throws std::out_of_range for a code no level has (wider than b bits,
// or the signed "negative zero").
const Level& decode(const LevelSet& set, uint32_t code);

// The level with exactly this value. Throws std::invalid_argument when the value is not a level.
const Level& find_level(const LevelSet& set, double value);
inline uint32_t encode(const LevelSet& set, double value) { return find_level(set, value).code; }

// The integer form of a level and back. Both throw std::logic_error for sets without an integer
// form, and from_integer throws std::invalid_argument for an integer no level has.
int64_t to_integer(const LevelSet& set, double value);
double from_integer(const LevelSet& set, int64_t integer);

}  // namespace apot
