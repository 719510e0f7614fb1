#include "core/clip_project_backward.h"

namespace apot {

namespace {

// d out / d alpha and d out / d x for one element (in units of g).
struct ElementGrad {
  float alpha;
  float input;
};

inline ElementGrad element_grad(float x, float out, float alpha, const ClipGradRule& rule) {
  const float y = x / alpha;
  if (rule.is_signed ? (y > 1.0f || y < -1.0f) : y > 1.0f) {
    const float sign = y > 0 ? 1.0f : -1.0f;
    return {sign, rule.input == InputGrad::PassAll ? 1.0f : 0.0f};
  }
  if (!rule.is_signed && y < 0.0f && rule.input == InputGrad::PassInRange) return {0.0f, 0.0f};
  // Inside: Proj(y) - y = (out - x) / alpha, which is also exact when out / alpha would round.
  return {rule.alpha == AlphaGrad::Rcf ? (out - x) / alpha : 0.0f, 1.0f};
}

}  // namespace

double clip_project_backward(const float* x, const float* out, const float* g, float* grad_x, size_t n,
                             float alpha, const ClipGradRule& rule, Isa isa) {
  constexpr Isa kWritten[] = {Isa::Scalar, Isa::Avx2};
  if (highest_written(kWritten, isa) == Isa::Avx2) return clip_project_backward_avx2(x, out, g, grad_x, n, alpha, rule);
  double alpha_sum = 0;
  for (size_t i = 0; i < n; ++i) {
    const ElementGrad d = element_grad(x[i], out[i], alpha, rule);
    alpha_sum += static_cast<double>(g[i]) * d.alpha;
    if (grad_x) grad_x[i] = g[i] * d.input;
  }
  return alpha_sum;
}

}  // namespace apot
