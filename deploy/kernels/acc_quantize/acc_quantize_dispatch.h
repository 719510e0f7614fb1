// The dispatch of the SIMD acc_quantize kernels (acc_quantize_avx2.cpp, acc_quantize_avx512.cpp) on the
// search depth and the code type, written once. Each ISA file instantiates it with its own kernel type,
// declared in that file's anonymous namespace, so no code compiled for one instruction set can stand
// in for another's (as conv_blocked_tiles.h does for the tile loop).
#pragma once

#include <cstdint>

#include "deploy/kernels/acc_quantize/acc_quantize.h"

namespace apot::deploy {

// RowKernel::template rows<kSteps, T>(table, rows) for kSteps = the table's search depth (1..4) and T the
// codes' type (uint8_t or int16_t).
template <class RowKernel>
void dispatch_acc_quantize(const AccQuantTable& t, const AccQuantRows& r) {
  const auto by_steps = [&](auto code) {
    using T = decltype(code);
    switch (t.act().steps) {
      case 1:
        return RowKernel::template rows<1, T>(t, r);
      case 2:
        return RowKernel::template rows<2, T>(t, r);
      case 3:
        return RowKernel::template rows<3, T>(t, r);
      default:
        return RowKernel::template rows<4, T>(t, r);
    }
  };
  if (r.type == CodeType::U8) {
    by_steps(uint8_t{});
  } else {
    by_steps(int16_t{});
  }
}

}  // namespace apot::deploy
