#include "core/cpu_features.h"

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace apot {

namespace {

constexpr IsaLevel kLevels[] = {IsaLevel::Scalar, IsaLevel::Avx2, IsaLevel::Avx512Vnni};

}  // namespace

std::string_view to_string(Isa isa) {
  switch (isa) {
    case Isa::Scalar:
      return "scalar";
    case Isa::Avx2:
      return "avx2";
  }
  return "?";
}

std::string_view to_string(IsaLevel level) {
  switch (level) {
    case IsaLevel::Scalar:
      return "scalar";
    case IsaLevel::Avx2:
      return "avx2";
    case IsaLevel::Avx512Vnni:
      return "avx512-vnni";
  }
  return "?";
}

bool cpu_supports(Isa isa) {
  switch (isa) {
    case Isa::Scalar:
      return true;
    case Isa::Avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }
  return false;
}

bool cpu_supports(IsaLevel level) {
  switch (level) {
    case IsaLevel::Scalar:
      return true;
    case IsaLevel::Avx2:
      return cpu_supports(Isa::Avx2);
    case IsaLevel::Avx512Vnni:
      return cpu_supports(Isa::Avx2) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  }
  return false;
}

IsaLevel isa_level() {
  static const IsaLevel chosen = [] {
    const char* forced = std::getenv("APOT_ISA");
    if (forced != nullptr && *forced != '\0') {
      for (IsaLevel level : kLevels) {
        if (to_string(level) == forced) {
          if (!cpu_supports(level)) {
            throw std::runtime_error(std::string("APOT_ISA=") + forced + " but this CPU does not support it");
          }
          return level;
        }
      }
      throw std::runtime_error(std::string("APOT_ISA=") + forced + " is unknown: expected scalar, avx2 or avx512-vnni");
    }
    IsaLevel best = IsaLevel::Scalar;
    for (IsaLevel level : kLevels) {
      if (cpu_supports(level)) best = level;
    }
    return best;
  }();
  return chosen;
}

Isa best_isa() { return isa_level() >= IsaLevel::Avx2 ? Isa::Avx2 : Isa::Scalar; }

std::vector<Isa> supported_isas() {
  std::vector<Isa> isas;
  for (Isa isa : {Isa::Scalar, Isa::Avx2}) {
    if (cpu_supports(isa)) isas.push_back(isa);
  }
  return isas;
}

std::vector<IsaLevel> supported_isa_levels() {
  std::vector<IsaLevel> levels;
  for (IsaLevel level : kLevels) {
    if (cpu_supports(level)) levels.push_back(level);
  }
  return levels;
}

}  // namespace apot
