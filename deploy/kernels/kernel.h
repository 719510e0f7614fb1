// Which family of kernels the integer engine runs, and how `auto` picks one at run time (DESIGN.md:
// from what the CPU reports, lowered by APOT_ISA).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/cpu_features.h"

namespace apot::deploy {

// Auto, the shift-add reference, then one family per instruction set of core/isa_list.inc:
//   Scalar       plain C++ multiply-accumulate on the exact integers: the portable fallback
//   Avx2         u8 x s8 pairs (vpmaddubsw) summed in int16 where they stay exact, int16 pairs elsewhere
//   Avx512Vnni   u8 x s8 quads (vpdpbusd) where the codes fit, int16 pairs (vpdpwssd) elsewhere
enum class Kernel {
  Auto,      // the fastest this CPU runs (within APOT_ISA)
  ShiftAdd,  // the reference: Fig. 3's shift-and-add datapath, counting its shifts and adds
#define APOT_ISA(enumerator, name) enumerator,
#include "core/isa_list.inc"
#undef APOT_ISA
};

// Every family but Auto: what the tests hold against the reference and bench_conv times.
inline constexpr Kernel kKernels[] = {
    Kernel::ShiftAdd,
#define APOT_ISA(enumerator, name) Kernel::enumerator,
#include "core/isa_list.inc"
#undef APOT_ISA
};

// "auto", "shift-add", then the instruction sets' names; throws std::invalid_argument naming the value.
Kernel parse_kernel(std::string_view name);
std::string_view to_string(Kernel kernel);
// Every name parse_kernel takes, "a | b | ...": for help texts and errors.
std::string kernel_names();

// Every family this CPU runs (APOT_ISA aside), the shift-add reference first.
std::vector<Kernel> supported_kernels();
// The family of an instruction set's own kernels.
Kernel kernel_for(Isa isa);
// Auto becomes the fastest family the CPU runs within best_isa(); any other is checked against the
// CPU (std::runtime_error when it lacks the instructions) and returned.
Kernel resolve(Kernel kernel);
// The instruction set of a (resolved) family, for the element-wise kernels that go with it
// (act quantisation, requantisation); shift-add runs the scalar ones.
Isa isa_of(Kernel kernel);

}  // namespace apot::deploy
