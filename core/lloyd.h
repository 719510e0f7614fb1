// Lloyd-Max levels fitted to data: the non-uniform quantiser of the paper's Table 3 ablation
// (Cai et al., 2017). Fitted on magnitudes so the set stays symmetric and keeps the level 0.
#pragma once

#include <cstddef>
#include <vector>

namespace apot {

struct LloydOptions {
  int max_iterations = 200;
  double tolerance = 1e-9;  // stop when no level moves further than this
};

// 2^magnitude_bits ascending magnitudes in [0, 1], the first fixed at 0, that locally minimise the mean
// squared error of clip(x / alpha) (|x| for signed data, max(x, 0) for unsigned) against its nearest
// level. Lloyd's algorithm: levels start uniform up to the largest value; each iteration moves every level but 0 to the mean of
// the data nearest to it; a level with no data stays. Throws std::invalid_argument for empty data or a
// bad alpha, std::domain_error for NaN. Pass the result to LevelSet::lloyd.
std::vector<double> lloyd_max_magnitudes(const float* data, size_t n, int magnitude_bits, bool is_signed,
                                         double alpha, const LloydOptions& options = {});

}  // namespace apot
