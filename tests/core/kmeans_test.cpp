// k-means on scalars: known clusters found, every value with its nearest center, determinism by seed,
// every group non-empty, bad arguments named.
#include "core/kmeans.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

namespace apot {
namespace {

TEST(KMeans1d, FindsWellSeparatedClusters) {
  // Three groups around 1, 5 and 20, shuffled.
  const std::vector<double> values = {5.1, 0.9, 20.3, 1.1, 4.9, 19.7, 1.0, 5.0, 20.0, 0.95, 5.05};
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const KMeans1d r = kmeans_1d(values, 3, seed);
    ASSERT_EQ(r.centers.size(), 3u);
    EXPECT_NEAR(r.centers[0], (0.9 + 1.1 + 1.0 + 0.95) / 4, 1e-12) << seed;
    EXPECT_NEAR(r.centers[1], (5.1 + 4.9 + 5.0 + 5.05) / 4, 1e-12) << seed;
    EXPECT_NEAR(r.centers[2], 20.0, 1e-12) << seed;
    const std::vector<int> expected = {1, 0, 2, 0, 1, 2, 0, 1, 2, 0, 1};
    EXPECT_EQ(r.group, expected) << seed;
  }
}

TEST(KMeans1d, EveryValueBelongsToItsNearestCenterAndNoGroupIsEmpty) {
  std::vector<double> values;
  for (int i = 0; i < 64; ++i) values.push_back(std::exp(0.1 * ((i * 37) % 64)));  // a skewed spread
  for (int k : {1, 2, 4, 7, 64}) {
    const KMeans1d r = kmeans_1d(values, k, 3);
    std::vector<int> count(static_cast<size_t>(k), 0);
    for (size_t i = 0; i < values.size(); ++i) {
      const int g = r.group[i];
      ++count[static_cast<size_t>(g)];
      for (int c = 0; c < k; ++c) {
        EXPECT_LE(std::abs(values[i] - r.centers[static_cast<size_t>(g)]),
                  std::abs(values[i] - r.centers[static_cast<size_t>(c)]) + 1e-12) << k << " " << i;
      }
    }
    for (int c = 0; c < k; ++c) EXPECT_GT(count[static_cast<size_t>(c)], 0) << k << " group " << c;
    for (size_t c = 1; c < r.centers.size(); ++c) EXPECT_LT(r.centers[c - 1], r.centers[c]);
  }
  EXPECT_NEAR(kmeans_1d(values, 1, 0).centers[0], [&] {
    double s = 0;
    for (double v : values) s += v;
    return s / static_cast<double>(values.size());
  }(), 1e-12);
}

TEST(KMeans1d, TheSameSeedGivesTheSameGroups) {
  std::vector<double> values;
  for (int i = 0; i < 200; ++i) values.push_back(std::sin(i * 1.7) * 3 + (i % 5));
  const KMeans1d a = kmeans_1d(values, 4, 42), b = kmeans_1d(values, 4, 42);
  EXPECT_EQ(a.centers, b.centers);
  EXPECT_EQ(a.group, b.group);
  EXPECT_GE(a.iterations, 1);
  EXPECT_LE(a.iterations, 300);
}

TEST(KMeans1d, BadArgumentsAreNamed) {
  const auto message = [](const std::vector<double>& v, int k) {
    try {
      kmeans_1d(v, k, 0);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message({1, 2}, 0), "k-means: k = 0, expected >= 1");
  EXPECT_EQ(message({1, 1, 2}, 3), "k-means: 3 groups of 3 values with 2 distinct ones: every group needs a value of its own");
  EXPECT_EQ(message({1, NAN, 2}, 2), "k-means: value 1 is nan");
  EXPECT_THROW(kmeans_1d({1, 2, 3}, 2, 0, 300, 1e-4, 0), std::invalid_argument);
}

}  // namespace
}  // namespace apot
