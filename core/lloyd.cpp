#include "core/lloyd.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace apot {

std::vector<double> lloyd_max_magnitudes(const float* data, size_t n, int magnitude_bits, bool is_signed,
                                         double alpha, const LloydOptions& options) {
  if (n == 0) throw std::invalid_argument("Lloyd-Max: the data is empty");
  if (magnitude_bits < 1 || magnitude_bits > 8) {
    throw std::invalid_argument(fmt::format("Lloyd-Max: {} magnitude bits, expected 1..8", magnitude_bits));
  }
  if (!(alpha > 0) || !std::isfinite(alpha)) {
    throw std::invalid_argument(fmt::format("Lloyd-Max: alpha = {}, expected finite > 0", alpha));
  }
  // Sorted clipped magnitudes and their prefix sums: each cell's mean then costs two binary searches.
  std::vector<double> values(n);
  for (size_t i = 0; i < n; ++i) {
    const double x = data[i];
    if (std::isnan(x)) throw std::domain_error(fmt::format("Lloyd-Max: NaN at element {} of {}", i, n));
    values[i] = std::clamp((is_signed ? std::fabs(x) : x) / alpha, 0.0, 1.0);
  }
  std::sort(values.begin(), values.end());
  std::vector<double> prefix(n + 1, 0.0);
  for (size_t i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + values[i];

  // Start uniform over the data's range: a level above all data would never move.
  const size_t count = size_t{1} << magnitude_bits;
  const double top = values.back() > 0 ? values.back() : 1.0;
  std::vector<double> levels(count);
  for (size_t j = 0; j < count; ++j) levels[j] = top * static_cast<double>(j) / static_cast<double>(count - 1);
  for (int it = 0; it < options.max_iterations; ++it) {
    double moved = 0;
    std::vector<double> next = levels;
    for (size_t j = 1; j < count; ++j) {
      // Cell j holds the values in [midpoint below, midpoint above), ties upward as in project.h.
      const double low = (levels[j - 1] + levels[j]) / 2;
      const size_t begin = static_cast<size_t>(std::lower_bound(values.begin(), values.end(), low) - values.begin());
      size_t end = n;
      if (j + 1 < count) {
        const double high = (levels[j] + levels[j + 1]) / 2;
        end = static_cast<size_t>(std::lower_bound(values.begin(), values.end(), high) - values.begin());
      }
      if (end > begin) next[j] = (prefix[end] - prefix[begin]) / static_cast<double>(end - begin);
      moved = std::max(moved, std::fabs(next[j] - levels[j]));
    }
    levels.swap(next);
    if (moved <= options.tolerance) break;
  }
  return levels;
}

}  // namespace apot
