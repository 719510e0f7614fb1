// The Gradient piece (qat/pieces.h): which gradients flow through the clipping projection (qat/clip_project.h).
#pragma once

#include <torch/torch.h>

#include "core/clip_project_backward.h"
#include "core/levels.h"
#include "qat/pieces.h"

namespace apot::qat {

// The projection's gradient rule for one side's pieces. The input's gradient: straight through for
// weights (Eq. 7: dW_hat / dW = 1), the clip's for activations (in reference-compatible mode the
// reference's clip, from above only), LSQ's inside the range only on either side. Alpha's: Eq. 8, or
// PACT's Eq. 11.
ClipGradRule clip_grad_rule(Side side, const Pieces& pieces, bool reference_compat);

// alpha as the projection of x takes it, its gradient as the rule has it: whole (RCF, PACT), cut (STE),
// or scaled (LSQ). LSQ scales its step's gradient by g = 1 / sqrt(N Qp) (Esser et al. 2020, section
// 2.2), N the layer's weights or one example's activations; with the threshold alpha = step * Qp, SGD on
// alpha with its gradient scaled by Qp^2 g is SGD on the step with g.
torch::Tensor threshold_for_projection(Side side, Gradient gradient, const torch::Tensor& alpha, const torch::Tensor& x,
                                       const LevelSet& levels);

// LSQ's Qp: the largest level of a uniform set in steps (2^(b-1) - 1 signed, 2^b - 1 unsigned).
double lsq_qp(const LevelSet& levels);

}  // namespace apot::qat
