// AVX2 path of requant_rows_scalar (requant.cpp): eight channels at a time, the int64 arithmetic in two
// halves of four lanes. AVX2 lacks a 64-bit arithmetic shift and 64-bit min / max, so they are built from
// the logical shift and compares. Channels are the outer loop so a block's parameters are loaded once
// for all its rows. Compiled with -mavx2 -mfma and only called when the CPU reports AVX2.
#include <immintrin.h>

#include "deploy/requant.h"

namespace apot::deploy {

namespace {

// v >> shift, arithmetic, per lane: a logical shift of v or of ~v, so negative values round down too.
inline __m256i shift_right_arithmetic(__m256i v, __m256i shift) {
  const __m256i sign = _mm256_cmpgt_epi64(_mm256_setzero_si256(), v);
  return _mm256_xor_si256(_mm256_srlv_epi64(_mm256_xor_si256(v, sign), shift), sign);
}

inline __m256i clamp_int32(__m256i v) {
  const __m256i lo = _mm256_set1_epi64x(INT32_MIN), hi = _mm256_set1_epi64x(INT32_MAX);
  v = _mm256_blendv_epi8(v, lo, _mm256_cmpgt_epi64(lo, v));
  return _mm256_blendv_epi8(v, hi, _mm256_cmpgt_epi64(v, hi));
}

struct Params4 {
  __m256i multiplier, round, shift, bias;
  Params4(const RequantView& rq, int c)
      : multiplier(load(rq.multiplier + c)),
        round(load(rq.round + c)),
        shift(load(rq.shift + c)),
        bias(load(rq.bias + c)) {}
  static __m256i load(const int64_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
};

// Four channels: sign-extended accumulators in, saturated int32 values in int64 lanes out.
template <bool kResidual>
inline __m256i requant4(__m256i acc, const Params4& p, const int32_t* residual) {
  __m256i v = _mm256_add_epi64(_mm256_mul_epi32(acc, p.multiplier), p.round);
  v = clamp_int32(_mm256_add_epi64(shift_right_arithmetic(v, p.shift), p.bias));
  if constexpr (kResidual) {
    const __m128i r = _mm_loadu_si128(reinterpret_cast<const __m128i*>(residual));
    v = clamp_int32(_mm256_add_epi64(v, _mm256_cvtepi32_epi64(r)));
  }
  return v;
}

template <bool kResidual, bool kRelu>
void rows(const RequantView& rq, const RequantRows& r) {
  // The low 32 bits of each 64-bit lane, gathered into the low half.
  const __m256i evens = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
  for (int c = 0; c < r.channels; c += 8) {
    const Params4 lo(rq, c), hi(rq, c + 4);
    for (int64_t i = 0; i < r.rows; ++i) {
      const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r.acc + i * r.acc_stride + c));
      const int32_t* res = kResidual ? r.residual + i * r.residual_stride + c : nullptr;
      const __m256i y_lo = requant4<kResidual>(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(a)), lo, res);
      const __m256i y_hi =
          requant4<kResidual>(_mm256_cvtepi32_epi64(_mm256_extracti128_si256(a, 1)), hi, kResidual ? res + 4 : nullptr);
      __m256i y = _mm256_permute2x128_si256(_mm256_permutevar8x32_epi32(y_lo, evens),
                                            _mm256_permutevar8x32_epi32(y_hi, evens), 0x20);
      if constexpr (kRelu) y = _mm256_max_epi32(y, _mm256_setzero_si256());
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(r.out + i * r.out_stride + c), y);
    }
  }
}

}  // namespace

void requant_rows_avx2(const RequantView& rq, const RequantRows& r) {
  if (r.residual != nullptr) {
    r.relu ? rows<true, true>(rq, r) : rows<true, false>(rq, r);
  } else {
    r.relu ? rows<false, true>(rq, r) : rows<false, false>(rq, r);
  }
}

}  // namespace apot::deploy
