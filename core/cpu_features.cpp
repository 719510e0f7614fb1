#include "core/cpu_features.h"

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace apot {

std::string_view to_string(Isa isa) {
  switch (isa) {
#define APOT_ISA(enumerator, name) \
  case Isa::enumerator:            \
    return name;
#include "core/isa_list.inc"
#undef APOT_ISA
  }
  return "?";
}

bool cpu_supports(Isa isa) {
  switch (isa) {
    case Isa::Scalar:
      return true;
    case Isa::Avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::Avx512Vnni:
      return cpu_supports(Isa::Avx2) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  }
  return false;
}

Isa best_isa() {
  static const Isa chosen = [] {
    const char* forced = std::getenv("APOT_ISA");
    if (forced != nullptr && *forced != '\0') {
      std::string known;
      for (const Isa isa : kIsas) {
        if (to_string(isa) == forced) {
          if (!cpu_supports(isa)) {
            throw std::runtime_error(std::string("APOT_ISA=") + forced + " but this CPU does not support it");
          }
          return isa;
        }
        known += (known.empty() ? "" : ", ") + std::string(to_string(isa));
      }
      throw std::runtime_error(std::string("APOT_ISA=") + forced + " is unknown: expected one of " + known);
    }
    Isa best = Isa::Scalar;
    for (const Isa isa : kIsas) {
      if (cpu_supports(isa)) best = isa;
    }
    return best;
  }();
  return chosen;
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> isas;
  for (const Isa isa : kIsas) {
    if (cpu_supports(isa)) isas.push_back(isa);
  }
  return isas;
}

}  // namespace apot
