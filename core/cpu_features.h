// Run-time choice of SIMD kernels (DESIGN.md: choose from what the CPU reports, never at build time only).
#pragma once

#include <string_view>
#include <vector>

namespace apot {

enum class Isa { Scalar, Avx2 };

std::string_view to_string(Isa isa);
bool cpu_supports(Isa isa);
// The fastest kernel family this CPU runs. The environment variable APOT_ISA=scalar|avx2 lowers it
// (for debugging and for measuring the reference path); asking for one the CPU lacks is an error.
Isa best_isa();
// Every family this CPU runs, scalar first: what the tests hold against each other.
std::vector<Isa> supported_isas();

}  // namespace apot
