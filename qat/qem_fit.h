// The QEM clipping threshold of a tensor (core/quant_error.h, the paper's Eq. 14), for starting a learned
// threshold at a value that suits its level set instead of the paper's constants (3 for normalised
// weights, 8 for activations). Those constants suit 4 and 5 bits; progressive initialisation to 2 bits
// with a short schedule leaves ternary weights at alpha 3 with ~85 % of them zero.
#pragma once

#include <optional>

#include <torch/torch.h>

#include "core/levels.h"

namespace apot::qat {

// The alpha in (0, max] that minimises Eq. 14 for `x` quantised to alpha * `set`, over at most
// kQemSampleLimit evenly strided elements of x. nullopt when x has nothing to clip to (all zero; for
// unsigned sets all <= 0: a dead layer keeps its threshold). Throws std::domain_error for NaN.
std::optional<double> qem_threshold(const LevelSet& set, const torch::Tensor& x);

constexpr int64_t kQemSampleLimit = int64_t{1} << 20;

}  // namespace apot::qat
