// k-means on scalars (Lloyd's iterations from k-means++ seeds, Arthur and Vassilvitskii 2007): how the
// redistribution post-training quantisation of AdderNets groups a layer's output kernels by their max |w|
// (Nie et al., NeurIPS 2022; the official code runs scikit-learn's KMeans with k-means++ seeding, at most
// 300 iterations and tolerance 1e-4, best of 10 seedings by inertia, and requires every group to be
// non-empty).
#pragma once

#include <cstdint>
#include <vector>

namespace apot {

struct KMeans1d {
  std::vector<double> centers;  // k, ascending
  std::vector<int> group;       // per value: the index of its center (so group 0 holds the smallest)
  int iterations = 0;
};

// Deterministic for a seed, on every standard library (its own generator and sampling). Each of
// `restarts` runs stops when the centers move by at most tolerance x the values' variance (sum of squared
// moves, as scikit-learn) or after max_iterations; the run with the least sum of squared distances wins.
// Every group is non-empty: a group left empty takes the value farthest from its center. Throws
// std::invalid_argument for k < 1, restarts < 1, fewer than k distinct values, or a value that is not
// finite.
KMeans1d kmeans_1d(const std::vector<double>& values, int k, uint64_t seed, int max_iterations = 300,
                   double tolerance = 1e-4, int restarts = 10);

}  // namespace apot
