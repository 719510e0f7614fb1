// Kernel tests parameterised over every row of the kernel table (deploy/kernels/kernel_table.h): each
// instruction set of core/isa_list.inc, skipped where this CPU lacks it.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "deploy/kernels/kernel_table.h"

namespace apot::deploy::test {

class EveryIsa : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (!cpu_supports(GetParam())) GTEST_SKIP() << "this CPU lacks " << to_string(GetParam());
  }
  const IsaKernels& kernels() const { return isa_kernels(GetParam()); }
};

// "avx512-vnni" -> "avx512_vnni": test names take letters, digits and underscores.
inline std::string test_name(std::string_view name) {
  std::string s(name);
  for (char& c : s) {
    if (c == '-') c = '_';
  }
  return s;
}

}  // namespace apot::deploy::test

#define APOT_INSTANTIATE_EVERY_ISA(suite)                                                   \
  INSTANTIATE_TEST_SUITE_P(Isa, suite, ::testing::ValuesIn(::apot::kIsas), [](const auto& info) { \
    return ::apot::deploy::test::test_name(::apot::to_string(info.param));                 \
  })
