// The one table of the integer engine's kernels: a row per instruction set of core/isa_list.inc, from
// which the engine's run-time dispatch, the tests (every kernel against its scalar reference, for every
// code type) and bench_conv (every kernel family) are expanded.
//
// Adding an instruction set: its line in core/isa_list.inc and its CPU check (core/cpu_features.cpp),
// its compiler flags (deploy/CMakeLists.txt), its kernel files <op>_<suffix>.cpp under kernels/act_quantize,
// acc_quantize, requant and conv, and its entry in APOT_SIMD_KERNELS below.
#pragma once

#include "core/cpu_features.h"
#include "deploy/kernels/acc_quantize/acc_quantize.h"
#include "deploy/kernels/act_quantize/act_quantize.h"
#include "deploy/kernels/conv/conv_blocked.h"
#include "deploy/kernels/requant/requant.h"

namespace apot::deploy {

// The instruction sets with SIMD kernels: X(Isa enumerator, suffix of its kernel files and functions,
// int32 lanes of its vector).
#define APOT_SIMD_KERNELS(X) X(Avx2, avx2, 8) X(Avx512Vnni, avx512, 16)

// An instruction set's kernels, defined in its files, which are compiled for it alone: call them only
// where the CPU has it (through the table, which the engine reaches after kernel.h's resolve()).
#define APOT_DECLARE_SIMD_KERNELS(isa, suffix, lanes)                                   \
  void act_quantize_##suffix(const ActQuantTable& t, const ActQuantRows& r);      \
  void acc_quantize_##suffix(const AccQuantTable& t, const AccQuantRows& r);      \
  void requant_rows_##suffix(const RequantView& rq, const RequantRows& r);        \
  extern const BlockedConvIsa conv_u8_##suffix;                                   \
  extern const BlockedConvIsa conv_s16_##suffix;
APOT_SIMD_KERNELS(APOT_DECLARE_SIMD_KERNELS)
#undef APOT_DECLARE_SIMD_KERNELS

struct IsaKernels {
  Isa isa;
  int lanes;  // int32 lanes of one vector: requant_rows takes channels in multiples of it
  void (*act_quantize)(const ActQuantTable& t, const ActQuantRows& r);
  void (*acc_quantize)(const AccQuantTable& t, const AccQuantRows& r);
  void (*requant_rows)(const RequantView& rq, const RequantRows& r);
  // The blocked convolution on uint8 and on int16 codes; null for scalar, which convolves by rows.
  const BlockedConvIsa* conv_u8;
  const BlockedConvIsa* conv_s16;
};

// The row of an instruction set: every one has a row; scalar's holds the references.
const IsaKernels& isa_kernels(Isa isa);

}  // namespace apot::deploy
