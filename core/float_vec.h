// A vector of floats for loops written once over a vector type (core/adder_kernels.h): the same
// operations for every width, from the intrinsics of prefix P (_mm256 for AVX2, _mm512 for AVX-512F) on
// registers of B bits; fma is fused (one rounding), as std::fma. Include it only from a file compiled for that instruction set (<immintrin.h> comes
// through core/avx512_intrinsics.h, which holds off GCC 12's false warning on AVX-512 intrinsics). abs
// clears the sign bit with an integer and (AVX-512F has no float one), as fabs does.
#pragma once

#include <cstdint>

#include "core/avx512_intrinsics.h"

#define APOT_FLOAT_VEC(Name, Register, Width, P, B)                                                        \
  struct Name {                                                                                         \
    static constexpr int64_t width = Width;                                                             \
    Register v;                                                                                         \
    static Name load(const float* p) { return {P##_loadu_ps(p)}; }                                      \
    static Name broadcast(float f) { return {P##_set1_ps(f)}; }                                         \
    static Name zero() { return {P##_setzero_ps()}; }                                                   \
    void store(float* p) const { P##_storeu_ps(p, v); }                                                 \
    friend Name operator+(Name a, Name b) { return {P##_add_ps(a.v, b.v)}; }                            \
    friend Name operator-(Name a, Name b) { return {P##_sub_ps(a.v, b.v)}; }                            \
    friend Name operator*(Name a, Name b) { return {P##_mul_ps(a.v, b.v)}; }                            \
    friend Name fma(Name a, Name b, Name c) { return {P##_fmadd_ps(a.v, b.v, c.v)}; }                    \
    friend Name abs(Name a) {                                                                           \
      return {P##_castsi##B##_ps(P##_and_si##B(P##_castps_si##B(a.v), P##_set1_epi32(0x7fffffff)))};   \
    }                                                                                                   \
    friend Name clamp(Name a, Name low, Name high) { return {P##_min_ps(P##_max_ps(a.v, low.v), high.v)}; }      \
  }
