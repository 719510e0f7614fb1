#include "deploy/kernel.h"

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace apot::deploy {

namespace {

constexpr Kernel kKernels[] = {Kernel::Auto, Kernel::ShiftAdd, Kernel::Scalar, Kernel::Avx2, Kernel::Avx512Vnni};

}  // namespace

std::string_view to_string(Kernel kernel) {
  switch (kernel) {
    case Kernel::Auto:
      return "auto";
    case Kernel::ShiftAdd:
      return "shift-add";
    case Kernel::Scalar:
      return "scalar";
    case Kernel::Avx2:
      return "avx2";
    case Kernel::Avx512Vnni:
      return "avx512-vnni";
  }
  return "?";
}

Kernel parse_kernel(std::string_view name) {
  for (Kernel k : kKernels) {
    if (to_string(k) == name) return k;
  }
  throw std::invalid_argument(
      fmt::format("kernel '{}' is unknown: expected auto, shift-add, scalar, avx2 or avx512-vnni", name));
}

IsaLevel isa_of(Kernel kernel) {
  switch (kernel) {
    case Kernel::Avx2:
      return IsaLevel::Avx2;
    case Kernel::Avx512Vnni:
      return IsaLevel::Avx512Vnni;
    case Kernel::Auto:
    case Kernel::ShiftAdd:
    case Kernel::Scalar:
      return IsaLevel::Scalar;
  }
  return IsaLevel::Scalar;
}

Kernel resolve(Kernel kernel) {
  if (kernel == Kernel::Auto) {
    switch (isa_level()) {
      case IsaLevel::Scalar:
        return Kernel::Scalar;
      case IsaLevel::Avx2:
        return Kernel::Avx2;
      case IsaLevel::Avx512Vnni:
        return Kernel::Avx512Vnni;
    }
  }
  if (!cpu_supports(isa_of(kernel))) {
    throw std::runtime_error(fmt::format("the {} kernel needs a CPU with {}, which this one lacks", to_string(kernel),
                                         to_string(isa_of(kernel))));
  }
  return kernel;
}


}  // namespace apot::deploy
