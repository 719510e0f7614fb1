#include "deploy/kernels/kernel.h"

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace apot::deploy {

namespace {

constexpr int kFirstIsaKernel = static_cast<int>(Kernel::ShiftAdd) + 1;

}  // namespace

Kernel kernel_for(Isa isa) { return static_cast<Kernel>(kFirstIsaKernel + static_cast<int>(isa)); }

Isa isa_of(Kernel kernel) {
  const int index = static_cast<int>(kernel) - kFirstIsaKernel;
  return index < 0 ? Isa::Scalar : static_cast<Isa>(index);
}

std::string_view to_string(Kernel kernel) {
  switch (kernel) {
    case Kernel::Auto:
      return "auto";
    case Kernel::ShiftAdd:
      return "shift-add";
    default:
      return to_string(isa_of(kernel));
  }
}

std::string kernel_names() {
  std::string names(to_string(Kernel::Auto));
  for (const Kernel k : kKernels) names += fmt::format(" | {}", to_string(k));
  return names;
}

Kernel parse_kernel(std::string_view name) {
  if (name == to_string(Kernel::Auto)) return Kernel::Auto;
  for (const Kernel k : kKernels) {
    if (to_string(k) == name) return k;
  }
  throw std::invalid_argument(fmt::format("kernel '{}' is unknown: expected {}", name, kernel_names()));
}

std::vector<Kernel> supported_kernels() {
  std::vector<Kernel> kernels;
  for (const Kernel k : kKernels) {
    if (cpu_supports(isa_of(k))) kernels.push_back(k);
  }
  return kernels;
}

Kernel resolve(Kernel kernel) {
  if (kernel == Kernel::Auto) return kernel_for(best_isa());
  if (!cpu_supports(isa_of(kernel))) {
    throw std::runtime_error(fmt::format("the {} kernel needs a CPU with {}, which this one lacks", to_string(kernel),
                                         to_string(isa_of(kernel))));
  }
  return kernel;
}

}  // namespace apot::deploy
