// The clipping quantiser as a LibTorch autograd function: out = alpha * Proj(clip(x / alpha)) (paper
// Eq. 7), its gradients by a ClipGradRule (RCF Eq. 8 or PACT Eq. 11, STE for the input).
//
// Forward runs the core's O(log L) projection kernel and backward one fused elementwise pass
// (core/clip_project_backward.h): nothing of size N x L is ever built. Work is split into fixed chunks,
// so results do not depend on the number of threads.
#pragma once

#include <torch/torch.h>

#include "core/clip_project_backward.h"
#include "core/project.h"

namespace apot::qat {

// x: float tensor. alpha: a scalar (0-dim or one element), or one value per slice of x along dim 0
// (per-output-channel weights). alpha must be finite and > 0; NaN in x is an error naming the element.
// The projector must outlive the call (backward does not use it).
torch::Tensor clip_project(const torch::Tensor& x, const torch::Tensor& alpha, const Projector& projector,
                           const ClipGradRule& rule);

}  // namespace apot::qat
