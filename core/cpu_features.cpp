#include "core/cpu_features.h"

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace apot {

std::string_view to_string(Isa isa) {
  switch (isa) {
    case Isa::Scalar: return "scalar";
    case Isa::Avx2: return "avx2";
  }
  return "?";
}

bool cpu_supports(Isa isa) {
  switch (isa) {
    case Isa::Scalar: return true;
    case Isa::Avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }
  return false;
}

Isa best_isa() {
  static const Isa chosen = [] {
    const char* forced = std::getenv("APOT_ISA");
    if (forced != nullptr && *forced != '\0') {
      for (Isa isa : {Isa::Scalar, Isa::Avx2}) {
        if (to_string(isa) == forced) {
          if (!cpu_supports(isa)) {
            throw std::runtime_error(std::string("APOT_ISA=") + forced + " but this CPU does not support it");
          }
          return isa;
        }
      }
      throw std::runtime_error(std::string("APOT_ISA=") + forced + " is unknown: expected scalar or avx2");
    }
    return cpu_supports(Isa::Avx2) ? Isa::Avx2 : Isa::Scalar;
  }();
  return chosen;
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> isas;
  for (Isa isa : {Isa::Scalar, Isa::Avx2}) {
    if (cpu_supports(isa)) isas.push_back(isa);
  }
  return isas;
}

}  // namespace apot
