// AVX-512 path of requant_rows_scalar (requant.cpp): sixteen channels at a time. The int64 products come
// from vpmuldq on the even and on the (shifted) odd int32 lanes, so no lane is moved: each half is
// rounded, shifted, biased and clamped in its 64-bit lanes, and the odd results are blended back into
// the high halves. Channels are the outer loop so a block's parameters are loaded once for all its rows.
// Compiled with the AVX-512 flags (F, BW, VL, VNNI) and only called when the CPU reports them.
#include "core/avx512_intrinsics.h"
#include "deploy/kernels/kernel_table.h"
#include "deploy/kernels/requant/requant.h"

namespace apot::deploy {

namespace {

// One parameter of 16 channels as the even and the odd lanes use it (64-bit lanes).
struct Split {
  __m512i even, odd;
  explicit Split(const int64_t* p) {
    const __m512i lo = _mm512_loadu_si512(p), hi = _mm512_loadu_si512(p + 8);  // channels 0-7, 8-15
    const __m512i even_index = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
    even = _mm512_permutex2var_epi64(lo, even_index, hi);
    odd = _mm512_permutex2var_epi64(lo, _mm512_add_epi64(even_index, _mm512_set1_epi64(1)), hi);
  }
};

struct Params16 {
  Split multiplier, round, shift, bias;
  Params16(const RequantView& rq, int c)
      : multiplier(rq.multiplier + c), round(rq.round + c), shift(rq.shift + c), bias(rq.bias + c) {}
};

// sat32(round_shift(acc * m, s) + bias) in 64-bit lanes (the low 32 bits of `acc` are read), then the
// residual and ReLU; the result is a saturated int32 in each lane.
template <bool kResidual, bool kRelu>
inline __m512i half(__m512i acc, __m512i m, __m512i round, __m512i shift, __m512i bias, __m512i residual) {
  const __m512i lo = _mm512_set1_epi64(kRelu && !kResidual ? 0 : INT32_MIN), hi = _mm512_set1_epi64(INT32_MAX);
  __m512i v = _mm512_add_epi64(_mm512_mul_epi32(acc, m), round);
  v = _mm512_add_epi64(_mm512_srav_epi64(v, shift), bias);
  v = _mm512_min_epi64(_mm512_max_epi64(v, lo), hi);
  if constexpr (kResidual) {
    // After the first saturation: sat32(sat32(y) + r) differs from sat32(y + r).
    v = _mm512_add_epi64(v, residual);
    v = _mm512_min_epi64(_mm512_max_epi64(v, _mm512_set1_epi64(kRelu ? 0 : INT32_MIN)), hi);
  }
  return v;
}

template <bool kResidual, bool kRelu>
void rows(const RequantView& rq, const RequantRows& r) {
  for (int c = 0; c < r.channels; c += 16) {
    const Params16 p(rq, c);
    for (int64_t i = 0; i < r.rows; ++i) {
      const __m512i a = _mm512_loadu_si512(r.acc + i * r.acc_stride + c);
      __m512i res_even = _mm512_setzero_si512(), res_odd = _mm512_setzero_si512();
      if constexpr (kResidual) {
        const __m512i res = _mm512_loadu_si512(r.residual + i * r.residual_stride + c);
        res_even = _mm512_srai_epi64(_mm512_slli_epi64(res, 32), 32);
        res_odd = _mm512_srai_epi64(res, 32);
      }
      const __m512i even =
          half<kResidual, kRelu>(a, p.multiplier.even, p.round.even, p.shift.even, p.bias.even, res_even);
      const __m512i odd = half<kResidual, kRelu>(_mm512_srli_epi64(a, 32), p.multiplier.odd, p.round.odd, p.shift.odd,
                                                 p.bias.odd, res_odd);
      _mm512_storeu_si512(r.out + i * r.out_stride + c,
                          _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32)));
    }
  }
}

}  // namespace

void requant_rows_avx512(const RequantView& rq, const RequantRows& r) {
  if (r.residual != nullptr) {
    r.relu ? rows<true, true>(rq, r) : rows<true, false>(rq, r);
  } else {
    r.relu ? rows<false, true>(rq, r) : rows<false, false>(rq, r);
  }
}

}  // namespace apot::deploy
