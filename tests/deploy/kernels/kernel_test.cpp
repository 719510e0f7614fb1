// Kernel families (deploy/kernels/kernel.h), the instruction sets behind them (core/cpu_features.h) and
// the kernel table (deploy/kernels/kernel_table.h).
#include "deploy/kernels/kernel.h"

#include <gtest/gtest.h>

#include "deploy/kernels/kernel_table.h"

namespace apot::deploy {
namespace {

TEST(Kernel, NamesRoundTrip) {
  EXPECT_EQ(parse_kernel("auto"), Kernel::Auto);
  for (const Kernel k : kKernels) EXPECT_EQ(parse_kernel(to_string(k)), k);
  EXPECT_EQ(parse_kernel("shift-add"), Kernel::ShiftAdd);
  EXPECT_EQ(parse_kernel("avx512-vnni"), Kernel::Avx512Vnni);
  EXPECT_EQ(kernel_names().rfind("auto | shift-add | scalar", 0), 0u) << kernel_names();
  for (const Kernel k : kKernels) EXPECT_NE(kernel_names().find(to_string(k)), std::string::npos);
  try {
    parse_kernel("avx1024");
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'avx1024'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("avx512-vnni"), std::string::npos);
  }
}

TEST(Kernel, EveryInstructionSetHasItsFamily) {
  for (const Isa isa : kIsas) {
    EXPECT_EQ(isa_of(kernel_for(isa)), isa);
    EXPECT_EQ(to_string(kernel_for(isa)), to_string(isa));
  }
  EXPECT_EQ(isa_of(Kernel::ShiftAdd), Isa::Scalar);
}

TEST(Kernel, AutoPicksTheFastestWithinApotIsa) {
  const Kernel k = resolve(Kernel::Auto);
  EXPECT_NE(k, Kernel::Auto);
  EXPECT_EQ(isa_of(k), best_isa());
  EXPECT_TRUE(cpu_supports(isa_of(k)));
}

TEST(Kernel, RefusesWhatTheCpuLacks) {
  for (const Kernel k : kKernels) {
    if (cpu_supports(isa_of(k))) {
      EXPECT_EQ(resolve(k), k);
    } else {
      EXPECT_THROW(resolve(k), std::runtime_error);
    }
  }
}

TEST(CpuFeatures, InstructionSetsAreOrdered) {
  const std::vector<Isa> isas = supported_isas();
  ASSERT_FALSE(isas.empty());
  EXPECT_EQ(isas.front(), Isa::Scalar);
  for (size_t i = 1; i < isas.size(); ++i) EXPECT_LT(isas[i - 1], isas[i]);
  // Each includes the ones before it.
  for (const Isa isa : isas) {
    for (const Isa below : kIsas) {
      if (below < isa) {
        EXPECT_TRUE(cpu_supports(below)) << to_string(below);
      }
    }
  }
  // core/'s float kernels, written for scalar and AVX2, run their AVX2 form above it.
  constexpr Isa kWritten[] = {Isa::Scalar, Isa::Avx2};
  EXPECT_EQ(highest_written(kWritten, Isa::Scalar), Isa::Scalar);
  EXPECT_EQ(highest_written(kWritten, Isa::Avx2), Isa::Avx2);
  EXPECT_EQ(highest_written(kWritten, Isa::Avx512Vnni), Isa::Avx2);
}

TEST(KernelTable, OneRowPerInstructionSet) {
  for (const Isa isa : kIsas) {
    const IsaKernels& row = isa_kernels(isa);
    EXPECT_EQ(row.isa, isa);
    EXPECT_NE(row.act_quantize, nullptr);
    EXPECT_NE(row.acc_quantize, nullptr);
    EXPECT_NE(row.requant_rows, nullptr);
    // Scalar convolves by rows (conv_scalar.cpp); every SIMD set has a blocked convolution per code type.
    EXPECT_EQ(row.conv_u8 != nullptr, isa != Isa::Scalar) << to_string(isa);
    EXPECT_EQ(row.conv_s16 != nullptr, isa != Isa::Scalar) << to_string(isa);
  }
}

}  // namespace
}  // namespace apot::deploy
