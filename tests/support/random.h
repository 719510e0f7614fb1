// Random inputs shared by the tests, the benchmarks and the fuzz seeds: one generator and one
// distribution per purpose, so that the same seed gives the same numbers everywhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace apot::test {

// n samples of N(mean, stddev^2) from a 64-bit Mersenne twister seeded with `seed`.
inline std::vector<float> gaussian_samples(size_t n, uint64_t seed, float mean = 0.0f, float stddev = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(mean, stddev);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

}  // namespace apot::test
