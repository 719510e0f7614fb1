// The backward pass of the clipping quantisers: RCF (paper Eq. 8) and PACT (Appendix A.1, Eq. 11),
// one fused pass over the saved input and output, with no per-level work at all: the projection the
// gradient needs, Proj(x / alpha), is the forward output divided by alpha.
#pragma once

#include <cstddef>

#include "core/cpu_features.h"

namespace apot {

// Where the input's gradient passes (straight-through estimator, STE).
enum class InputGrad {
  PassAll,        // weights (Eq. 7): dW_hat / dW = 1 everywhere, clipped or not
  PassBelowAlpha, // the reference implementation's activations: x / alpha <= 1, negatives included
  PassInRange,    // the paper's activations, clipped to [0, alpha]: 0 <= x / alpha <= 1
};

// What the clipping threshold learns from.
enum class AlphaGrad {
  Rcf,   // Eq. 8: sign(x) where clipped, Proj(x / alpha) - x / alpha inside
  Pact,  // Eq. 11: 1 where clipped above, 0 elsewhere (the rounding is straight-through)
};

struct ClipGradRule {
  bool is_signed = false;  // clip to [-1, 1] (weights) or from above only (activations)
  InputGrad input = InputGrad::PassAll;
  AlphaGrad alpha = AlphaGrad::Rcf;
};

// For n elements with input x, forward output out = alpha * Proj(clip(x / alpha)) and incoming gradient
// g: writes the input's gradient to grad_x (unless null) and returns sum_i g_i * d out_i / d alpha,
// accumulated in double. An element is clipped when |x| / alpha > 1 (signed) or x / alpha > 1; for
// PassInRange, x < 0 is clipped from below, where out = 0 does not depend on alpha.
// Every kernel family gives the same grad_x bit for bit; the sum may differ in its last bits (order).
double clip_project_backward(const float* x, const float* out, const float* g, float* grad_x, size_t n,
                             float alpha, const ClipGradRule& rule, Isa isa = best_isa());

// The AVX2 path (clip_project_backward_avx2.cpp); use clip_project_backward with an Isa.
double clip_project_backward_avx2(const float* x, const float* out, const float* g, float* grad_x, size_t n,
                                  float alpha, const ClipGradRule& rule);

}  // namespace apot
