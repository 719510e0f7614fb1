// Which family of kernels the integer engine runs, and how `auto` picks one at run time (DESIGN.md:
// from what the CPU reports, lowered by APOT_ISA).
#pragma once

#include <string_view>

#include "core/cpu_features.h"

namespace apot::deploy {

enum class Kernel {
  Auto,        // the fastest this CPU runs (within APOT_ISA)
  ShiftAdd,    // the reference: Fig. 3's shift-and-add datapath, counting its shifts and adds
  Scalar,      // plain C++ multiply-accumulate on the exact integers: the portable fallback
  Avx2,        // u8 x s8 pairs (vpmaddubsw) summed in int16 where they stay exact, int16 pairs elsewhere
  Avx512Vnni,  // u8 x s8 quads (vpdpbusd) where the codes fit, int16 pairs (vpdpwssd) elsewhere
};

// "auto", "shift-add", "scalar", "avx2", "avx512-vnni"; throws std::invalid_argument naming the value.
Kernel parse_kernel(std::string_view name);
std::string_view to_string(Kernel kernel);

// Auto becomes the fastest family the CPU runs within isa_level(); any other is checked against the
// CPU (std::runtime_error when it lacks the instructions) and returned.
Kernel resolve(Kernel kernel);
// The instruction set of a (resolved) family, for the element-wise kernels that go with it
// (act quantisation, requantisation); shift-add and scalar run the scalar ones.
IsaLevel isa_of(Kernel kernel);

}  // namespace apot::deploy
