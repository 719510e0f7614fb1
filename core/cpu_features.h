// Run-time choice of SIMD kernels (DESIGN.md: choose from what the CPU reports, never at build time only).
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace apot {

// The instruction sets of core/isa_list.inc, ordered: each includes the ones before it.
enum class Isa {
#define APOT_ISA(enumerator, name) enumerator,
#include "core/isa_list.inc"
#undef APOT_ISA
};

inline constexpr Isa kIsas[] = {
#define APOT_ISA(enumerator, name) Isa::enumerator,
#include "core/isa_list.inc"
#undef APOT_ISA
};

// "scalar", "avx2", "avx512-vnni": the names APOT_ISA takes.
std::string_view to_string(Isa isa);
// Avx2: AVX2 and FMA. Avx512Vnni: AVX-512 F, BW, VL and VNNI, and AVX2 + FMA below them.
bool cpu_supports(Isa isa);

// The highest instruction set this CPU runs. The environment variable APOT_ISA=scalar|avx2|avx512-vnni
// lowers it (for debugging and for measuring the reference path); asking for one the CPU lacks, or an
// unknown name, is an error (std::runtime_error).
Isa best_isa();
// Every instruction set this CPU runs, scalar first (APOT_ISA aside): what the tests hold against
// each other.
std::vector<Isa> supported_isas();

// The kernel a family written for fewer instruction sets runs on `isa`: the last of `written` (ascending)
// at or below it. core/'s float kernels have scalar and AVX2 forms; AVX-512 runs the AVX2 one.
template <size_t N>
constexpr Isa highest_written(const Isa (&written)[N], Isa isa) {
  Isa chosen = written[0];
  for (const Isa w : written) {
    if (w <= isa) chosen = w;
  }
  return chosen;
}

}  // namespace apot
