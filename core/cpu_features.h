// Run-time choice of SIMD kernels (DESIGN.md: choose from what the CPU reports, never at build time only).
#pragma once

#include <string_view>
#include <vector>

namespace apot {

// The kernel families of core/ (projection, clip-project backward): a scalar reference and AVX2.
enum class Isa { Scalar, Avx2 };

// Everything the kernels of this project can use, ordered so that each level includes the ones before
// it. Kept apart from Isa so that the kernels written for {scalar, avx2} keep their exhaustive switches;
// the integer engine (deploy/) also has AVX-512 VNNI kernels (vpdpbusd, vpdpwssd).
enum class IsaLevel { Scalar, Avx2, Avx512Vnni };

std::string_view to_string(Isa isa);
std::string_view to_string(IsaLevel level);  // "scalar", "avx2", "avx512-vnni": the names APOT_ISA takes
bool cpu_supports(Isa isa);
// Avx512Vnni: AVX-512 F, BW, VL and VNNI, and AVX2 + FMA below them.
bool cpu_supports(IsaLevel level);

// The highest level this CPU runs. The environment variable APOT_ISA=scalar|avx2|avx512-vnni lowers it
// (for debugging and for measuring the reference path); asking for one the CPU lacks, or an unknown
// name, is an error (std::runtime_error).
IsaLevel isa_level();
// The fastest Isa family this CPU runs, within isa_level().
Isa best_isa();
// Every Isa family this CPU runs, scalar first: what the tests hold against each other.
std::vector<Isa> supported_isas();
// Every level this CPU runs, scalar first (APOT_ISA aside).
std::vector<IsaLevel> supported_isa_levels();

}  // namespace apot
