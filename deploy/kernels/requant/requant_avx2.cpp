// AVX2 path of requant_rows_scalar (requant.cpp): eight channels at a time, the int64 arithmetic in two
// halves of four lanes: vpmuldq multiplies the even 32-bit lanes into 64 bits, and the odd ones after a
// shift, so the parameters come in that order (RequantLanes8) and no lane is moved. AVX2 lacks a 64-bit
// arithmetic shift and 64-bit min / max, so
// - the rounded product is offset by 2^62 into the unsigned range, shifted logically, and the offset's
//   2^(62 - s) taken back with the bias: (v + 2^62) >> s = floor(v / 2^s) + 2^(62 - s) for s <= 62, and
//   |v| < 2^62 + 2^61 (|acc x multiplier| <= 2^62, round <= 2^61) keeps v + 2^62 within [0, 2^64);
// - where the table rules saturation out (RequantView::unsaturated) the low 32 bits of the shifted
//   halves are the result less the bias, which is added in int32; elsewhere the int32 saturation is a
//   check that every lane's high word is its low word's sign, with the 64-bit compares and blends only
//   where one is not;
// - the residual adds in int32 with an overflow test.
// Channels are the outer loop so a block's parameters are loaded once for all its rows. Compiled with
// -mavx2 -mfma and only called when the CPU reports AVX2.
#include <immintrin.h>

#include "deploy/kernels/kernel_table.h"
#include "deploy/kernels/requant/requant.h"

namespace apot::deploy {

namespace {

inline __m256i clamp_int32(__m256i v) {
  const __m256i lo = _mm256_set1_epi64x(INT32_MIN), hi = _mm256_set1_epi64x(INT32_MAX);
  v = _mm256_blendv_epi8(v, lo, _mm256_cmpgt_epi64(lo, v));
  return _mm256_blendv_epi8(v, hi, _mm256_cmpgt_epi64(v, hi));
}

inline __m256i load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// The parameters of the four channels of one half (even or odd lanes) of an 8-channel block.
struct Half {
  __m256i multiplier, offset, shift, bias;
  Half(const RequantLanes8& l, int half)
      : multiplier(load(l.multiplier + 4 * half)),
        offset(load(l.offset + 4 * half)),
        shift(load(l.shift + 4 * half)),
        bias(load(l.bias + 4 * half)) {}
  // (acc x multiplier + round + 2^62) >> shift, logically, for the accumulators in the even 32-bit lanes.
  __m256i shifted(__m256i acc) const {
    return _mm256_srlv_epi64(_mm256_add_epi64(_mm256_mul_epi32(acc, multiplier), offset), shift);
  }
};

// The low words of the int64 lanes of `even` and `odd`, in channel order.
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

template <bool kUnsaturated, bool kResidual, bool kRelu>
void rows(const RequantView& rq, const RequantRows& r) {
  const int64_t n = r.rows, acc_stride = r.acc_stride, residual_stride = r.residual_stride, out_stride = r.out_stride;
  for (int c = 0; c < r.channels; c += 8) {
    const RequantLanes8& lanes = rq.lanes8[c / 8];
    const Half even(lanes, 0), odd(lanes, 1);
    const __m256i bias32 = load(lanes.bias32);
    const int32_t* acc = r.acc + c;
    int32_t* out = r.out + c;
    for (int64_t i = 0; i < n; ++i, acc += acc_stride, out += out_stride) {
      const __m256i a = load(acc);
      __m256i y;
      if constexpr (kUnsaturated) {
        y = _mm256_add_epi32(low_words(even.shifted(a), odd.shifted(_mm256_srli_epi64(a, 32))), bias32);
      } else {
        const __m256i e = _mm256_add_epi64(even.shifted(a), even.bias);
        const __m256i o = _mm256_add_epi64(odd.shifted(_mm256_srli_epi64(a, 32)), odd.bias);
        y = low_words(e, o);
        const __m256i high = _mm256_blend_epi32(_mm256_srli_epi64(e, 32), o, 0xAA);
        if (_mm256_movemask_epi8(_mm256_cmpeq_epi32(high, _mm256_srai_epi32(y, 31))) != -1) {
          y = low_words(clamp_int32(e), clamp_int32(o));
        }
      }
      if constexpr (kResidual) y = add_saturated(y, load(r.residual + i * residual_stride + c));
      if constexpr (kRelu) y = _mm256_max_epi32(y, _mm256_setzero_si256());
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), y);
    }
  }
}

template <bool kUnsaturated>
void rows(const RequantView& rq, const RequantRows& r) {
  if (r.residual != nullptr) {
    r.relu ? rows<kUnsaturated, true, true>(rq, r) : rows<kUnsaturated, true, false>(rq, r);
  } else {
    r.relu ? rows<kUnsaturated, false, true>(rq, r) : rows<kUnsaturated, false, false>(rq, r);
  }
}

}  // namespace

void requant_rows_avx2(const RequantView& rq, const RequantRows& r) {
  rq.unsaturated ? rows<true>(rq, r) : rows<false>(rq, r);
}

}  // namespace apot::deploy
