#include "deploy/kernels/kernel_table.h"

#include <iterator>

namespace apot::deploy {

namespace {

constexpr IsaKernels kTable[] = {
    {Isa::Scalar, 1, act_quantize_scalar, acc_quantize_scalar, requant_rows_scalar, nullptr, nullptr},
#define APOT_SIMD_ROW(isa, suffix, lanes) \
  {Isa::isa, lanes, act_quantize_##suffix, acc_quantize_##suffix, requant_rows_##suffix, &conv_u8_##suffix, &conv_s16_##suffix},
    APOT_SIMD_KERNELS(APOT_SIMD_ROW)
#undef APOT_SIMD_ROW
};

static_assert(std::size(kTable) == std::size(kIsas), "one row per instruction set of core/isa_list.inc");

constexpr bool rows_in_isa_order() {
  for (size_t i = 0; i < std::size(kTable); ++i) {
    if (kTable[i].isa != kIsas[i]) return false;
  }
  return true;
}
static_assert(rows_in_isa_order(), "the rows follow core/isa_list.inc");

}  // namespace

const IsaKernels& isa_kernels(Isa isa) { return kTable[static_cast<size_t>(isa)]; }

}  // namespace apot::deploy
