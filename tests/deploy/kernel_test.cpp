// Kernel families (deploy/kernel.h) and the CPU levels behind them (core/cpu_features.h).
#include "deploy/kernel.h"

#include <gtest/gtest.h>

namespace apot::deploy {
namespace {

TEST(Kernel, NamesRoundTrip) {
  for (const Kernel k : {Kernel::Auto, Kernel::ShiftAdd, Kernel::Scalar, Kernel::Avx2, Kernel::Avx512Vnni}) {
    EXPECT_EQ(parse_kernel(to_string(k)), k);
  }
  EXPECT_EQ(parse_kernel("shift-add"), Kernel::ShiftAdd);
  try {
    parse_kernel("avx1024");
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'avx1024'"), std::string::npos);
  }
}

TEST(Kernel, AutoPicksTheFastestWithinIsaLevel) {
  const Kernel k = resolve(Kernel::Auto);
  EXPECT_NE(k, Kernel::Auto);
  EXPECT_EQ(isa_of(k), isa_level());
  EXPECT_TRUE(cpu_supports(isa_of(k)));
}

TEST(Kernel, RefusesWhatTheCpuLacks) {
  for (const Kernel k : {Kernel::ShiftAdd, Kernel::Scalar, Kernel::Avx2, Kernel::Avx512Vnni}) {
    if (cpu_supports(isa_of(k))) {
      EXPECT_EQ(resolve(k), k);
    } else {
      EXPECT_THROW(resolve(k), std::runtime_error);
    }
  }
}

TEST(CpuFeatures, LevelsAreOrderedAndKeepTheIsaFamilies) {
  const std::vector<IsaLevel> levels = supported_isa_levels();
  ASSERT_FALSE(levels.empty());
  EXPECT_EQ(levels.front(), IsaLevel::Scalar);
  for (size_t i = 1; i < levels.size(); ++i) EXPECT_LT(levels[i - 1], levels[i]);
  // The Isa families of core/ stay {scalar, avx2}: AVX-512 VNNI maps to their avx2 kernels.
  EXPECT_EQ(best_isa(), isa_level() >= IsaLevel::Avx2 ? Isa::Avx2 : Isa::Scalar);
  if (cpu_supports(IsaLevel::Avx512Vnni)) {
    EXPECT_TRUE(cpu_supports(IsaLevel::Avx2));
  }
}

}  // namespace
}  // namespace apot::deploy
