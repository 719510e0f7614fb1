// Quantisation error of the paper's Appendix C.1, Eq. 14, and QEM: the clipping threshold that
// minimises it (the method of LQ-Nets and HWGQ that the paper compares RCF against).
#pragma once

#include <cstddef>

#include "core/levels.h"

namespace apot {

// Eq. 14, both parts divided by the element count I:
//   clip       = 1/I * sum over clipped elements of (x - clip(x))^2   (|x| > alpha for signed sets;
//                x > alpha or x < 0 for unsigned ones)
//   projection = 1/I * sum over the others of (x - alpha * Proj(x / alpha))^2
struct QuantError {
  double clip = 0;
  double projection = 0;
  double total() const { return clip + projection; }
};

// Throws std::invalid_argument for empty data or a bad alpha, std::domain_error for NaN.
QuantError quantization_error(const LevelSet& set, const float* data, size_t n, double alpha);

struct QemOptions {
  int grid_points = 128;        // coarse scan of (0, max] ...
  int refine_iterations = 40;   // ... then golden-section search around the best grid point
};

struct QemResult {
  double alpha = 0;
  QuantError error;
};

// The alpha in (0, max |x|] (unsigned sets: (0, max x]) that minimises Eq. 14. The error is not convex
// in alpha, hence the scan before the local search. Throws std::invalid_argument for empty data or
// data with nothing to clip to (all zero; all <= 0 for unsigned sets).
QemResult qem_alpha(const LevelSet& set, const float* data, size_t n, const QemOptions& options = {});

}  // namespace apot
