// AVX2 path of requant_rows_scalar (requant.cpp): eight channels at a time, the int64 arithmetic in two
// halves of four lanes (vpmuldq multiplies the even 32-bit lanes into 64 bits). AVX2 lacks a 64-bit
// arithmetic shift and 64-bit min / max, so
// - the rounded product is offset by 2^62 into the unsigned range, shifted logically, and the offset's
//   2^(62 - s) taken back with the bias: (v + 2^62) >> s = floor(v / 2^s) + 2^(62 - s) for s <= 62, and
//   |v| < 2^62 + 2^61 (|acc x multiplier| <= 2^62, round <= 2^61) keeps v + 2^62 within [0, 2^64);
// - the int32 saturation is a check that every lane's high word is its low word's sign, with the 64-bit
//   compares and blends only where one is not; the residual adds in int32 with an overflow test.
// Channels are the outer loop so a block's parameters are loaded once for all its rows. Compiled with
// -mavx2 -mfma and only called when the CPU reports AVX2.
#include <immintrin.h>

#include "deploy/requant.h"

namespace apot::deploy {

namespace {

inline __m256i clamp_int32(__m256i v) {
  const __m256i lo = _mm256_set1_epi64x(INT32_MIN), hi = _mm256_set1_epi64x(INT32_MAX);
  v = _mm256_blendv_epi8(v, lo, _mm256_cmpgt_epi64(lo, v));
  return _mm256_blendv_epi8(v, hi, _mm256_cmpgt_epi64(v, hi));
}

// The parameters of four channels as int64 lanes, the offset folded in.
struct Params4 {
  __m256i multiplier, offset, shift, bias;
  Params4(const RequantView& rq, int c) : multiplier(load(rq.multiplier + c)), shift(load(rq.shift + c)) {
    const __m256i two62 = _mm256_set1_epi64x(int64_t{1} << 62);
    offset = _mm256_add_epi64(load(rq.round + c), two62);
    bias = _mm256_sub_epi64(load(rq.bias + c), _mm256_srlv_epi64(two62, shift));
  }
  static __m256i load(const int64_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  // round_shift(acc x multiplier, shift) + bias for the accumulators in the even 32-bit lanes.
  __m256i operator()(__m256i acc) const {
    const __m256i v = _mm256_add_epi64(_mm256_mul_epi32(acc, multiplier), offset);
    return _mm256_add_epi64(_mm256_srlv_epi64(v, shift), bias);
  }
};

// Channel order within a vector: [c0 c4 c1 c5 c2 c6 c3 c7], so the even lanes hold the first four
// channels and the odd ones the last four.
inline __m256i interleave(__m256i v) {
  return _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}
inline __m256i deinterleave(__m256i v) {
  return _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7));
}

// The low words of the int64 lanes of `even` and `odd`, interleaved.
inline __m256i low_words(__m256i even, __m256i odd) {
  return _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
}

// sat32(y + r) per lane: where the sum overflows, its sign differs from both operands'.
inline __m256i add_saturated(__m256i y, __m256i r) {
  const __m256i sum = _mm256_add_epi32(y, r);
  const __m256i overflow = _mm256_and_si256(_mm256_xor_si256(y, sum), _mm256_xor_si256(r, sum));
  const __m256i saturated = _mm256_xor_si256(_mm256_srai_epi32(y, 31), _mm256_set1_epi32(INT32_MAX));
  return _mm256_castps_si256(
      _mm256_blendv_ps(_mm256_castsi256_ps(sum), _mm256_castsi256_ps(saturated), _mm256_castsi256_ps(overflow)));
}

template <bool kResidual, bool kRelu>
void rows(const RequantView& rq, const RequantRows& r) {
  for (int c = 0; c < r.channels; c += 8) {
    const Params4 first(rq, c), last(rq, c + 4);
    for (int64_t i = 0; i < r.rows; ++i) {
      const __m256i a = interleave(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(r.acc + i * r.acc_stride + c)));
      __m256i even = first(a), odd = last(_mm256_srli_epi64(a, 32));
      __m256i y = low_words(even, odd);
      const __m256i high = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
      if (_mm256_movemask_epi8(_mm256_cmpeq_epi32(high, _mm256_srai_epi32(y, 31))) != -1) {
        y = low_words(clamp_int32(even), clamp_int32(odd));
      }
      if constexpr (kResidual) {
        const int32_t* res = r.residual + i * r.residual_stride + c;
        y = add_saturated(y, interleave(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(res))));
      }
      if constexpr (kRelu) y = _mm256_max_epi32(y, _mm256_setzero_si256());
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(r.out + i * r.out_stride + c), deinterleave(y));
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
