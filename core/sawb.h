// SAWB, statistics-aware weight binning (Choi et al., 2018a; ../shared/papers/pact-sawb-summary.txt):
// the clipping threshold from two moments of the weights,
//   alpha = c1 * sqrt(E[w^2]) - c2 * E[|w|],
// with c1, c2 per level set fitted, as that paper does, to the error-minimising alpha of several
// bell-shaped distributions.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/levels.h"

namespace apot {

struct SawbCoefficients {
  double c1 = 0;
  double c2 = 0;
};

// One distribution of the fit: its name, its moments and the QEM alpha of the level set on it.
struct SawbFitPoint {
  std::string distribution;
  double rms = 0;        // sqrt(E[w^2])
  double mean_abs = 0;   // E[|w|]
  double qem_alpha = 0;
};

struct SawbFit {
  SawbCoefficients coefficients;
  std::vector<SawbFitPoint> points;
  double max_relative_residual = 0;  // of the fitted alpha against the QEM alpha, over the points
};

// Least-squares fit (no intercept) of qem_alpha against (rms, -mean_abs) over zero-mean Gaussian,
// Laplace, logistic and hyperbolic-secant samples: bell-shaped, with tails from light to heavy
// (`samples` each, fixed seed, so the result is reproducible). The optimal alpha scales with the distribution, so one scale per shape suffices.
SawbFit fit_sawb(const LevelSet& set, size_t samples = 1 << 16);

// Throws std::invalid_argument for empty data, std::domain_error for NaN or a non-positive result.
double sawb_alpha(const SawbCoefficients& c, const float* weights, size_t n);

}  // namespace apot
