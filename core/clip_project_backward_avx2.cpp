// The AVX2 path of clip_project_backward: the scalar rules of element_grad, eight lanes at a time. The
// input gradient is bit for bit the scalar one; the alpha gradient sums the same double products in
// another order (4 double lanes per half).
#include <immintrin.h>

#include "core/clip_project_backward.h"

namespace apot {

double clip_project_backward_avx2(const float* x, const float* out, const float* g, float* grad_x, size_t n,
                                  float alpha, const ClipGradRule& rule) {
  const __m256 alpha8 = _mm256_set1_ps(alpha);
  const __m256 one = _mm256_set1_ps(1.0f), minus_one = _mm256_set1_ps(-1.0f), zero = _mm256_setzero_ps();
  const bool pass_clipped = rule.input == InputGrad::PassAll;
  const bool clip_below = !rule.is_signed && rule.input == InputGrad::PassInRange;
  const bool rcf = rule.alpha == AlphaGrad::Rcf;
  __m256d sum_lo = _mm256_setzero_pd(), sum_hi = _mm256_setzero_pd();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 xv = _mm256_loadu_ps(x + i), gv = _mm256_loadu_ps(g + i);
    const __m256 y = _mm256_div_ps(xv, alpha8);
    const __m256 above = _mm256_cmp_ps(y, one, _CMP_GT_OQ);
    const __m256 below_minus_one = rule.is_signed ? _mm256_cmp_ps(y, minus_one, _CMP_LT_OQ) : zero;
    const __m256 clipped = _mm256_or_ps(above, below_minus_one);
    const __m256 below_zero = clip_below ? _mm256_andnot_ps(clipped, _mm256_cmp_ps(y, zero, _CMP_LT_OQ)) : zero;
    // d out / d alpha: sign(y) where clipped, (out - x) / alpha inside (RCF), 0 below zero.
    const __m256 sign = _mm256_blendv_ps(minus_one, one, _mm256_cmp_ps(y, zero, _CMP_GT_OQ));
    const __m256 inside = rcf ? _mm256_div_ps(_mm256_sub_ps(_mm256_loadu_ps(out + i), xv), alpha8) : zero;
    __m256 d_alpha = _mm256_blendv_ps(inside, sign, clipped);
    d_alpha = _mm256_andnot_ps(below_zero, d_alpha);
    sum_lo = _mm256_add_pd(sum_lo, _mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(gv)),
                                                 _mm256_cvtps_pd(_mm256_castps256_ps128(d_alpha))));
    sum_hi = _mm256_add_pd(sum_hi, _mm256_mul_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(gv, 1)),
                                                 _mm256_cvtps_pd(_mm256_extractf128_ps(d_alpha, 1))));
    if (grad_x) {
      // g * 1 or g * 0, as the scalar path multiplies (so Inf * 0 is NaN in both).
      __m256 d_input = pass_clipped ? one : _mm256_blendv_ps(one, zero, clipped);
      d_input = _mm256_blendv_ps(d_input, zero, below_zero);
      _mm256_storeu_ps(grad_x + i, _mm256_mul_ps(gv, d_input));
    }
  }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, _mm256_add_pd(sum_lo, sum_hi));
  const double tail = clip_project_backward(x + i, out + i, g + i, grad_x ? grad_x + i : nullptr, n - i, alpha, rule, Isa::Scalar);
  return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + tail;
}

}  // namespace apot
