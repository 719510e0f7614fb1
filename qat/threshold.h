// The Threshold piece (qat/pieces.h): where the clipping threshold alpha comes from.
#pragma once

#include <torch/torch.h>

#include "core/levels.h"
#include "qat/pieces.h"
#include "qat/quant_config.h"

namespace apot::qat {

// A computed threshold (MaxAbs, Sawb, Unit) for x, the tensor the levels apply to; a constant of the
// graph. MaxAbs in reference-compatible mode is the reference's max x (its 8-bit layers), not max |x|.
torch::Tensor computed_threshold(Threshold t, const torch::Tensor& x, const LevelSet& levels, bool reference_compat);

// Where a learned weight threshold (Learned, LsqStep) starts for weights w. Learned: the configured
// constant where weight normalisation makes the weights' scale 1, else the same clipping ratio, 3 std;
// LsqStep: LSQ's step initialisation 2 E|w| / sqrt(Qp), as the threshold alpha = step * Qp.
double initial_threshold(const Pieces& pieces, const torch::Tensor& w, const LevelSet& levels, const QuantConfig& config);

}  // namespace apot::qat
