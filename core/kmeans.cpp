#include "core/kmeans.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <stdexcept>

namespace apot {

namespace {

// SplitMix64: a small portable generator, the same numbers everywhere.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  double uniform() {  // [0, 1)
    state_ += 0x9E3779B97F4A7C15ull;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) * 0x1.0p-53;
  }

 private:
  uint64_t state_;
};

double squared(double v) { return v * v; }

// The nearest center's index (the lower one on a tie) and its squared distance.
std::pair<int, double> nearest(const std::vector<double>& centers, double v) {
  int best = 0;
  for (int c = 1; c < static_cast<int>(centers.size()); ++c) {
    if (squared(v - centers[static_cast<size_t>(c)]) < squared(v - centers[static_cast<size_t>(best)])) best = c;
  }
  return {best, squared(v - centers[static_cast<size_t>(best)])};
}

// k-means++: the first center uniformly, each next one with probability proportional to the squared
// distance to the nearest center chosen so far.
std::vector<double> seeds(const std::vector<double>& values, int k, Random& random) {
  std::vector<double> centers = {values[static_cast<size_t>(random.uniform() * static_cast<double>(values.size()))]};
  std::vector<double> distance(values.size());
  while (static_cast<int>(centers.size()) < k) {
    double total = 0;
    for (size_t i = 0; i < values.size(); ++i) total += distance[i] = nearest(centers, values[i]).second;
    double target = random.uniform() * total;
    size_t pick = 0;
    while (pick + 1 < values.size() && (distance[pick] == 0 || target >= distance[pick])) {
      if (distance[pick] > 0) target -= distance[pick];
      ++pick;
    }
    if (distance[pick] == 0) {  // rounding left the target past the last positive distance
      pick = static_cast<size_t>(std::max_element(distance.begin(), distance.end()) - distance.begin());
    }
    centers.push_back(values[pick]);
  }
  return centers;
}

// One run of Lloyd's iterations from k-means++ seeds; centers ascending, groups assigned to them.
KMeans1d run(const std::vector<double>& values, int k, Random& random, int max_iterations, double variance,
             double tolerance) {
  KMeans1d r;
  r.centers = seeds(values, k, random);
  r.group.assign(values.size(), 0);
  for (r.iterations = 1; r.iterations <= max_iterations; ++r.iterations) {
    std::vector<double> sum(static_cast<size_t>(k), 0.0);
    std::vector<int> count(static_cast<size_t>(k), 0);
    for (size_t i = 0; i < values.size(); ++i) {
      r.group[i] = nearest(r.centers, values[i]).first;
      sum[static_cast<size_t>(r.group[i])] += values[i];
      ++count[static_cast<size_t>(r.group[i])];
    }
    double moved = 0;
    for (int c = 0; c < k; ++c) {
      const size_t ci = static_cast<size_t>(c);
      double center = r.centers[ci];
      if (count[ci] == 0) {  // the value farthest from its own center starts this group again
        size_t far = 0;
        for (size_t i = 1; i < values.size(); ++i) {
          if (squared(values[i] - r.centers[static_cast<size_t>(r.group[i])]) >
              squared(values[far] - r.centers[static_cast<size_t>(r.group[far])])) {
            far = i;
          }
        }
        center = values[far];
      } else {
        center = sum[ci] / count[ci];
      }
      moved += squared(center - r.centers[ci]);
      r.centers[ci] = center;
    }
    if (moved <= tolerance * variance) break;
  }
  r.iterations = std::min(r.iterations, max_iterations);
  // Ascending centers, and the final assignment to them.
  std::sort(r.centers.begin(), r.centers.end());
  for (size_t i = 0; i < values.size(); ++i) r.group[i] = nearest(r.centers, values[i]).first;
  for (int c = 0; c < k; ++c) {
    if (std::find(r.group.begin(), r.group.end(), c) == r.group.end()) {
      throw std::runtime_error(fmt::format("k-means: group {} of {} ended empty: try another seed", c, k));
    }
  }
  return r;
}

}  // namespace

KMeans1d kmeans_1d(const std::vector<double>& values, int k, uint64_t seed, int max_iterations, double tolerance,
                   int restarts) {
  if (k < 1) throw std::invalid_argument(fmt::format("k-means: k = {}, expected >= 1", k));
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) throw std::invalid_argument(fmt::format("k-means: value {} is {}", i, values[i]));
  }
  const size_t distinct = std::set<double>(values.begin(), values.end()).size();
  if (restarts < 1) throw std::invalid_argument(fmt::format("k-means: {} restarts, expected >= 1", restarts));
  if (distinct < static_cast<size_t>(k)) {
    throw std::invalid_argument(fmt::format("k-means: {} groups of {} values with {} distinct ones: every group needs "
                                            "a value of its own", k, values.size(), distinct));
  }
  const double mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  double variance = 0;
  for (const double v : values) variance += squared(v - mean);
  variance /= static_cast<double>(values.size());

  Random random(seed);
  KMeans1d best;
  double best_inertia = 0;
  for (int i = 0; i < restarts; ++i) {
    KMeans1d r = run(values, k, random, max_iterations, variance, tolerance);
    double inertia = 0;
    for (size_t v = 0; v < values.size(); ++v) inertia += squared(values[v] - r.centers[static_cast<size_t>(r.group[v])]);
    if (i == 0 || inertia < best_inertia) {
      best = std::move(r);
      best_inertia = inertia;
    }
  }
  return best;
}

}  // namespace apot
