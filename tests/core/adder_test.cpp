// The adder layer's kernels against a naive reference written from the definitions (core/adder.h): the
// forward bit for bit (it sums in the same order), the gradients to float rounding (the naive sums in
// double, by weight and by input element); every instruction set bit for bit against the scalar one; edge
// shapes, ranges of images, bad shapes.
#include "core/adder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include "core/cpu_features.h"

namespace apot {
namespace {

struct Case {
  AdderShape shape;
  std::vector<float> x, w, g;
};

Case make_case(const AdderShape& s, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  Case c{s, {}, {}, {}};
  c.x.resize(static_cast<size_t>(s.batch * s.in_channels * s.height * s.width));
  c.w.resize(static_cast<size_t>(s.out_channels * s.taps()));
  c.g.resize(static_cast<size_t>(s.batch * s.out_channels * s.positions()));
  for (float& v : c.x) v = normal(rng);
  for (float& v : c.w) v = 0.5f * normal(rng);  // some |w - x| inside HardTanh's [-1, 1], some beyond
  for (float& v : c.g) v = normal(rng);
  return c;
}

// The value the patch of output position (oy, ox) reads at tap (c, i, j); 0 in the padding.
float patch(const Case& c, int64_t n, int64_t ch, int64_t i, int64_t j, int64_t oy, int64_t ox) {
  const AdderShape& s = c.shape;
  const int64_t y = oy * s.stride - s.padding + i, x = ox * s.stride - s.padding + j;
  if (y < 0 || y >= s.height || x < 0 || x >= s.width) return 0.0f;
  return c.x[static_cast<size_t>(((n * s.in_channels + ch) * s.height + y) * s.width + x)];
}

std::vector<float> naive_forward(const Case& c) {
  const AdderShape& s = c.shape;
  std::vector<float> y;
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t t = 0; t < s.out_channels; ++t) {
      for (int64_t oy = 0; oy < s.out_height(); ++oy) {
        for (int64_t ox = 0; ox < s.out_width(); ++ox) {
          float sum = 0;
          for (int64_t ch = 0, k = 0; ch < s.in_channels; ++ch) {
            for (int64_t i = 0; i < s.kernel; ++i) {
              for (int64_t j = 0; j < s.kernel; ++j, ++k) {
                sum += std::fabs(patch(c, n, ch, i, j, oy, ox) - c.w[static_cast<size_t>(t * s.taps() + k)]);
              }
            }
          }
          y.push_back(-sum);
        }
      }
    }
  }
  return y;
}

// Eq. 5 in double, and per weight the sum of its terms' magnitudes (what float rounding scales with).
std::pair<std::vector<double>, std::vector<double>> naive_weight_grad(const Case& c) {
  const AdderShape& s = c.shape;
  std::vector<double> grad(c.w.size(), 0.0), magnitude(c.w.size(), 0.0);
  for (int64_t t = 0; t < s.out_channels; ++t) {
    for (int64_t ch = 0, k = 0; ch < s.in_channels; ++ch) {
      for (int64_t i = 0; i < s.kernel; ++i) {
        for (int64_t j = 0; j < s.kernel; ++j, ++k) {
          const double w = c.w[static_cast<size_t>(t * s.taps() + k)];
          double sum = 0, size = 0;
          for (int64_t n = 0; n < s.batch; ++n) {
            for (int64_t oy = 0, p = 0; oy < s.out_height(); ++oy) {
              for (int64_t ox = 0; ox < s.out_width(); ++ox, ++p) {
                const double term = (patch(c, n, ch, i, j, oy, ox) - w) *
                                    c.g[static_cast<size_t>((n * s.out_channels + t) * s.positions() + p)];
                sum += term;
                size += std::abs(term);
              }
            }
          }
          grad[static_cast<size_t>(t * s.taps() + k)] = sum;
          magnitude[static_cast<size_t>(t * s.taps() + k)] = size;
        }
      }
    }
  }
  return {grad, magnitude};
}

// Eq. 6, gathered by input element, in double.
std::vector<double> naive_input_grad(const Case& c) {
  const AdderShape& s = c.shape;
  std::vector<double> grad(c.x.size(), 0.0);
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t t = 0; t < s.out_channels; ++t) {
      for (int64_t oy = 0, p = 0; oy < s.out_height(); ++oy) {
        for (int64_t ox = 0; ox < s.out_width(); ++ox, ++p) {
          const double g = c.g[static_cast<size_t>((n * s.out_channels + t) * s.positions() + p)];
          for (int64_t ch = 0, k = 0; ch < s.in_channels; ++ch) {
            for (int64_t i = 0; i < s.kernel; ++i) {
              for (int64_t j = 0; j < s.kernel; ++j, ++k) {
                const int64_t y = oy * s.stride - s.padding + i, x = ox * s.stride - s.padding + j;
                if (y < 0 || y >= s.height || x < 0 || x >= s.width) continue;
                const double d = std::clamp<double>(c.w[static_cast<size_t>(t * s.taps() + k)] -
                                                        static_cast<double>(patch(c, n, ch, i, j, oy, ox)), -1.0, 1.0);
                grad[static_cast<size_t>(((n * s.in_channels + ch) * s.height + y) * s.width + x)] += d * g;
              }
            }
          }
        }
      }
    }
  }
  return grad;
}

struct Outputs {
  std::vector<float> y, grad_w, grad_x;
};

Outputs run(const Case& c, Isa isa) {
  const AdderShape& s = c.shape;
  Outputs o;
  o.y.assign(c.g.size(), NAN);
  o.grad_w.assign(c.w.size(), NAN);
  o.grad_x.assign(c.x.size(), NAN);
  // Split as threads would: the first image alone, then the rest (for a batch of one, the one image).
  std::vector<std::pair<int64_t, int64_t>> ranges = {{0, 1}};
  if (s.batch > 1) ranges.emplace_back(1, s.batch);
  std::vector<AdderWeightPartial> partials(ranges.size());
  for (size_t r = 0; r < ranges.size(); ++r) {
    const auto [begin, end] = ranges[r];
    adder_forward(s, c.x.data(), c.w.data(), o.y.data(), begin, end, isa);
    adder_backward(s, c.x.data(), c.w.data(), c.g.data(), o.grad_x.data(), &partials[r], begin, end, isa);
  }
  adder_weight_grad(s, c.w.data(), partials.data(), partials.size(), o.grad_w.data());
  return o;
}

// batch, in, height, width, out, kernel, stride, padding: 3x3 and 1x1 as the ResNets use them, strides,
// sizes that leave every kind of tail (positions, taps, channels), a kernel as large as the padded input.
const AdderShape kShapes[] = {
    {2, 3, 8, 8, 16, 3, 1, 1},  {3, 16, 7, 9, 9, 3, 2, 1},  {2, 5, 6, 6, 11, 1, 2, 0}, {1, 2, 5, 5, 4, 5, 1, 0},
    {2, 1, 3, 3, 1, 3, 1, 1},   {2, 7, 17, 13, 33, 3, 1, 1}, {1, 4, 4, 4, 8, 3, 3, 2},
};

TEST(Adder, MatchesTheNaiveDefinitionsOnEveryInstructionSet) {
  uint32_t seed = 1;
  for (const AdderShape& s : kShapes) {
    const Case c = make_case(s, seed++);
    const std::vector<float> y = naive_forward(c);
    const auto [grad_w, grad_w_size] = naive_weight_grad(c);
    const std::vector<double> grad_x = naive_input_grad(c);
    const Outputs scalar = run(c, Isa::Scalar);
    for (const Isa isa : supported_isas()) {
      SCOPED_TRACE(testing::Message() << to_string(isa) << ", shape " << s.batch << "x" << s.in_channels << "x" << s.height
                                      << "x" << s.width << " -> " << s.out_channels << ", k" << s.kernel << " s" << s.stride
                                      << " p" << s.padding);
      const Outputs o = run(c, isa);
      ASSERT_EQ(o.y, y);
      ASSERT_EQ(std::memcmp(o.grad_w.data(), scalar.grad_w.data(), o.grad_w.size() * sizeof(float)), 0);
      ASSERT_EQ(std::memcmp(o.grad_x.data(), scalar.grad_x.data(), o.grad_x.size() * sizeof(float)), 0);
      for (size_t i = 0; i < grad_w.size(); ++i) ASSERT_NEAR(o.grad_w[i], grad_w[i], 1e-5 * (1 + grad_w_size[i])) << i;
      for (size_t i = 0; i < grad_x.size(); ++i) {
        ASSERT_NEAR(o.grad_x[i], grad_x[i], 1e-5 * (1 + std::abs(grad_x[i]))) << i;
      }
    }
  }
}

TEST(Adder, PaddedTapsAddTheWeightsMagnitude) {
  // A 1x1 image of zeros under a 3x3 kernel with padding 1: every tap reads 0, so y = -sum |w|.
  AdderShape s{1, 1, 1, 1, 2, 3, 1, 1};
  const std::vector<float> x = {0.0f}, w = {1, -2, 3, -4, 5, -6, 7, -8, 9, 0.5f, 0, 0, 0, 0, 0, 0, 0, -0.25f};
  std::vector<float> y(2);
  adder_forward(s, x.data(), w.data(), y.data(), 0, 1);
  EXPECT_EQ(y, (std::vector<float>{-45.0f, -0.75f}));
}

TEST(Adder, AdaptiveScalingGivesTheLayerNormEtaSqrtK) {
  std::vector<float> grad = {3, -4, 0, 0};
  adder_scale_weight_grad(grad.data(), grad.size(), 0.2);
  const double norm = std::sqrt(grad[0] * grad[0] + grad[1] * grad[1]);
  EXPECT_NEAR(norm, 0.2 * 2.0, 1e-6);
  EXPECT_NEAR(grad[0] / grad[1], -0.75, 1e-6);
  std::vector<float> zero(3, 0.0f);
  adder_scale_weight_grad(zero.data(), zero.size(), 0.2);  // the norm's floor: no division by zero
  EXPECT_EQ(zero, std::vector<float>(3, 0.0f));
}

TEST(Adder, BadShapesAndRangesAreNamed) {
  const std::vector<float> buffer(1024, 0.0f);
  std::vector<float> out(1024);
  const auto message = [&](const AdderShape& s, int64_t begin, int64_t end) {
    try {
      adder_forward(s, buffer.data(), buffer.data(), out.data(), begin, end);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message({1, 0, 4, 4, 2, 3, 1, 1}, 0, 1), "adder: in_channels = 0, expected >= 1");
  EXPECT_EQ(message({1, 1, 4, 4, 2, 3, 0, 1}, 0, 1), "adder: stride = 0, expected >= 1");
  EXPECT_EQ(message({1, 1, 4, 4, 2, 3, 1, -1}, 0, 1), "adder: padding = -1, expected >= 0");
  EXPECT_EQ(message({1, 1, 2, 2, 2, 5, 1, 1}, 0, 1), "adder: kernel 5 is larger than the padded input 4x4");
  EXPECT_EQ(message({2, 1, 4, 4, 2, 3, 1, 1}, 1, 3), "adder: image range [1, 3) outside [0, 2)");
  const AdderShape s{1, 1, 4, 4, 2, 3, 1, 1};
  AdderWeightPartial partial;
  EXPECT_THROW(adder_backward(s, buffer.data(), buffer.data(), buffer.data(), out.data(), &partial, 0, 0),
               std::invalid_argument);
  partial.sums.assign(3, 0.0f);
  EXPECT_THROW(adder_weight_grad(s, buffer.data(), &partial, 1, out.data()), std::invalid_argument);
}

}  // namespace
}  // namespace apot
