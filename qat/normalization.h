// The Normalization piece (qat/pieces.h): the tensor the levels apply to, and the quantised tensor back.
#pragma once

#include <torch/torch.h>

#include "qat/pieces.h"
#include "qat/quant_config.h"

namespace apot::qat {

// WeightNorm, paper Eq. 9: (w - mean) / (std + eps) with the population std, gradients through both
// statistics; in reference-compatible mode the reference's: unbiased std, no eps, constant statistics.
// Tanh, DoReFa (Zhou et al. 2016): tanh(w) / (2 max |tanh w|) + 1/2, in [0, 1], the maximum a constant.
torch::Tensor normalize(Normalization n, const torch::Tensor& w, const QuantConfig& config);

// The quantised tensor q in w's terms: Tanh maps [0, 1] back onto [-1, 1] (2 q - 1); the others keep q.
torch::Tensor denormalize(Normalization n, const torch::Tensor& q);

}  // namespace apot::qat
